"""The recommender as the business sees it: what is offered, in which order, and why."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
from sqlalchemy import func, select

from app import recommender
from app.extensions import db
from app.models import Outcome, PartnerStatus, PriceBand, ProgrammeKind
from app.recommender import content, demo_outcomes, engine, outcome_model, snapshot
from app.recommender.features import fold, org_features
from app.services import assessments
from tests.assessment_helpers import answer_for, full_answers
from tests.factories import OrganisationFactory, UserFactory
from tests.recommender_factories import WEAK_DATA, partner, profile, programme, synthetic_records

ON = date(2026, 6, 15)


def codes(items) -> list[str]:
    return [item.code for item in items]


def test_only_eligible_programmes_are_recommended_and_the_others_say_why():
    open_one = programme(code="OPEN-ALL")
    coops = programme(code="COOPS-ONLY", org_kinds=["cooperative"])
    closed = programme(code="CLOSED", closes_on=date(2026, 5, 31))
    spent = programme(code="SPENT", budget_vnd=100, committed_vnd=100)
    retired = programme(code="RETIRED", retired_at=datetime(2026, 1, 2, tzinfo=UTC))
    result = recommender.recommend(profile(), WEAK_DATA, 2, locale="en", on_date=ON)
    assert codes(result.programmes) == [open_one.code]
    why = {entry.code: entry.reasons for entry in result.not_eligible}
    assert set(why) == {coops.code, closed.code, spent.code}
    assert why[coops.code] == ("This programme is only for cooperatives.",)
    assert why[closed.code] == ("Applications have closed (the deadline was 31/05/2026).",)
    assert why[spent.code] == ("This programme's budget has been used up.",)
    assert retired.code not in why
    assert result.model_version == "content-1"


def test_partners_are_vetted_current_and_serve_the_business():
    good = partner(code="P-GOOD")
    partner(code="P-PENDING", status=PartnerStatus.PENDING)
    partner(code="P-SUSPENDED", status=PartnerStatus.SUSPENDED)
    partner(code="P-RETIRED", retired_at=datetime(2026, 1, 2, tzinfo=UTC))
    partner(code="P-HOUSEHOLDS", org_kinds=["household_business"])
    partner(code="P-FARMS", sectors=["A"])
    here = partner(code="P-HERE", communes=["21025"])
    partner(code="P-THERE", communes=["21211"])
    known = recommender.recommend(profile(commune_code="21025"), WEAK_DATA, 2, on_date=ON, limit=10)
    assert set(codes(known.partners)) == {good.code, here.code}
    unknown = recommender.recommend(profile(commune_code=None), WEAK_DATA, 2, on_date=ON, limit=10)
    assert codes(unknown.partners) == [good.code]
    shown = known.partners[0]
    assert shown.categories == ("accounting",) and shown.price_band == "low"
    assert shown.website and shown.email and shown.phone


def test_the_weakest_pillar_comes_first_and_is_the_reason():
    data = programme(code="DATA-HELP", pillars=["data"])
    programme(code="CUSTOMER-HELP", pillars=["customer"])
    english = recommender.recommend(profile(), WEAK_DATA, 2, locale="en", on_date=ON)
    assert english.programmes[0].code == data.code
    assert english.programmes[0].score > english.programmes[1].score
    assert english.programmes[0].reasons[0] == (
        "Your “Data and information assets” pillar is at level 0 (Not started); this programme supports data "
        "management tools.")
    vietnamese = recommender.recommend(profile(), WEAK_DATA, 2, locale="vi", on_date=ON)
    assert "Dữ liệu và tài sản thông tin" in vietnamese.programmes[0].reasons[0]
    assert "Chưa chuyển đổi số" in vietnamese.programmes[0].reasons[0]
    assert "công cụ quản lý dữ liệu" in vietnamese.programmes[0].reasons[0]


@pytest.mark.parametrize("needs", ["Cần xuất hoá đơn điện tử cho khách", "can xuat hoa don dien tu cho khach",
                                   "CẦN XUẤT HÓA ĐƠN ĐIỆN TỬ", "we need e-invoicing"])
def test_the_business_own_words_are_matched_with_or_without_accents(needs):
    invoices = partner(code="P-INVOICE", categories=["e_invoice"], pillars=["operations"],
                       summary={"vi": "Hoá đơn điện tử theo Nghị định 123", "en": "E-invoices under Decree 123"})
    partner(code="P-WEB", categories=["website"], pillars=["operations"],
            summary={"vi": "Thiết kế trang web bán hàng", "en": "Websites for shops"})
    scores = dict.fromkeys(WEAK_DATA, 50.0)
    result = recommender.recommend(profile(), scores, 2, needs=needs, locale="en", on_date=ON)
    assert result.partners[0].code == invoices.code
    assert "You wrote that you need help with e-invoicing." in result.partners[0].reasons


def test_same_input_gives_the_same_ranking_and_ties_go_by_code():
    for code in ("TIE-C", "TIE-A", "TIE-B"):
        programme(code=code)
    for code in ("P-TIE-2", "P-TIE-1"):
        partner(code=code)
    first = recommender.recommend(profile(), WEAK_DATA, 2, needs="phần mềm kế toán", on_date=ON)
    again = recommender.recommend(profile(), WEAK_DATA, 2, needs="phần mềm kế toán", on_date=ON)
    assert first == again
    assert codes(first.programmes) == ["TIE-A", "TIE-B", "TIE-C"]
    assert codes(first.partners) == ["P-TIE-1", "P-TIE-2"]


def test_every_item_has_one_to_three_reasons_in_the_language_asked():
    programme(code="LANG", name={"vi": "Hỗ trợ dữ liệu", "en": "Data support"}, pillars=["data", "operations"],
              sectors=["G"])
    partner(code="P-LANG", categories=["data_analytics"], pillars=["data"])
    vi = recommender.recommend(profile(), WEAK_DATA, 2, needs="báo cáo doanh thu", locale="vi", on_date=ON)
    en = recommender.recommend(profile(), WEAK_DATA, 2, needs="báo cáo doanh thu", locale="en", on_date=ON)
    for result in (vi, en):
        for item in (*result.programmes, *result.partners):
            assert 1 <= len(item.reasons) <= 3
            assert all(isinstance(reason, str) and reason for reason in item.reasons)
    assert vi.programmes[0].name == "Hỗ trợ dữ liệu" and en.programmes[0].name == "Data support"
    assert vi.programmes[0].reasons != en.programmes[0].reasons
    assert any("Bán buôn và bán lẻ" in reason for reason in vi.programmes[0].reasons)
    assert any("Wholesale and retail trade" in reason for reason in en.programmes[0].reasons)
    assert any("phân tích dữ liệu" in reason for reason in vi.partners[0].reasons)
    assert any("data analysis" in reason for reason in en.partners[0].reasons)


def test_max_subsidy_is_the_cap_for_the_business_size():
    programme(code="CAPPED", caps_vnd={"micro": 20_000_000, "small": 50_000_000})
    programme(code="TRAINING", kind=ProgrammeKind.TRAINING, caps_vnd={})
    small = {p.code: p.max_subsidy_vnd for p in recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON).programmes}
    assert small == {"CAPPED": 50_000_000, "TRAINING": 0}
    unknown = recommender.recommend(profile(size_class=None), WEAK_DATA, 2, on_date=ON).programmes
    assert {p.code: p.max_subsidy_vnd for p in unknown} == {"CAPPED": None, "TRAINING": None}


def test_limit_caps_each_list():
    for number in range(4):
        programme(code=f"LIMIT-{number}")
        partner(code=f"P-LIMIT-{number}")
    assert [len(recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON, limit=n).programmes)
            for n in (0, 1, 3, 10)] == [0, 1, 3, 4]
    assert len(recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON, limit=2).partners) == 2


def test_a_catalogue_change_is_seen_by_the_next_recommendation():
    item = programme(code="CHANGING")
    assert codes(recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON).programmes) == ["CHANGING"]
    item.committed_vnd = item.budget_vnd
    db.session.commit()
    spent = recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON)
    assert spent.programmes == () and codes(spent.not_eligible) == ["CHANGING"]
    item.committed_vnd = 0
    item.retired_at = datetime(2026, 6, 1, tzinfo=UTC)
    db.session.commit()
    retired = recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON)
    assert retired.programmes == () and retired.not_eligible == ()
    partner(code="P-NEW")
    assert codes(recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON).partners) == ["P-NEW"]


def test_not_eligible_lists_the_most_relevant_first_and_can_list_all():
    for number in range(5):
        programme(code=f"COOP-{number}", org_kinds=["cooperative"], pillars=["data"] if number == 3 else ["culture"])
    result = recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON, not_eligible_limit=2)
    assert codes(result.not_eligible) == ["COOP-3", "COOP-0"]
    everything = recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON, not_eligible_limit=None)
    assert len(everything.not_eligible) == 5


def test_why_not_answers_for_any_programme():
    programme(code="FOR-COOPS", org_kinds=["cooperative"])
    programme(code="FOR-ALL")
    answer = recommender.why_not(profile(), "FOR-COOPS", 2, locale="en", on_date=ON)
    assert answer.reasons == ("This programme is only for cooperatives.",)
    assert recommender.why_not(profile(), "FOR-ALL", 2, on_date=ON) is None
    assert recommender.why_not(profile(), "NO-SUCH", 2, on_date=ON) is None


def _submitted_with_weak_data(organisation, user, needs):
    draft = assessments.start(organisation, user)
    framework = assessments.framework_of(draft)
    answers = full_answers(framework, draft.track, "best")
    for question in framework.pillar_questions(draft.track, "data"):
        answers[question.id] = answer_for(question, "worst")
    assessments.save_answers(draft, user, answers)
    assessments.submit(draft, user)
    draft.needs = needs
    db.session.commit()
    return draft


def test_recommend_for_assessment_uses_the_profile_the_scores_and_the_needs():
    owner = UserFactory()
    organisation = OrganisationFactory(owner=owner, commune_code="21211", size_class="small")
    assessment = _submitted_with_weak_data(organisation, owner, "muốn lưu trữ đám mây, sao lưu dữ liệu")
    here = programme(code="TINH-KHE", communes=["21211"], pillars=["data"])
    programme(code="ELSEWHERE", communes=["21025"])
    programme(code="STRONG-LEVELS", level_min=0, level_max=0)
    cloud = partner(code="P-CLOUD", categories=["cloud_storage"], pillars=["data"])
    partner(code="P-CRM", categories=["crm"], pillars=["customer"])
    result = recommender.recommend_for_assessment(assessment, locale="en", on_date=ON)
    assert codes(result.programmes) == [here.code]
    assert set(codes(result.not_eligible)) == {"ELSEWHERE", "STRONG-LEVELS"}
    assert result.partners[0].code == cloud.code
    assert any("cloud storage" in reason for reason in result.partners[0].reasons)
    profile_ = recommender.profile_of(organisation)
    assert profile_ == recommender.Profile("enterprise", "G", "small", "21211", organisation.id)


def test_recommend_many_gives_what_recommend_gives():
    programme(code="MANY-1", pillars=["data"])
    programme(code="MANY-2", pillars=["customer"], org_kinds=["household_business"])
    partner(code="P-MANY", categories=["e_invoice"])
    queries = [recommender.Query(profile(), WEAK_DATA, 2, "hoá đơn"),
               recommender.Query(profile(kind="household_business", size_class="micro"), WEAK_DATA, 1, ""),
               recommender.Query(profile(commune_code=None), dict.fromkeys(WEAK_DATA, 90.0), 5, "kế toán")]
    many = recommender.recommend_many(queries, locale="en", on_date=ON)
    single = [recommender.recommend(q.profile, q.pillar_scores, q.overall_level, q.needs, "en", ON) for q in queries]
    assert many == single


@pytest.mark.parametrize(("left", "right"), [
    ("Hoá đơn Điện tử", "hoa don dien tu"),
    ("HÓA ĐƠN", "hoa don"),
    ("Đắk Lắk – cà phê!", "dak lak ca phe"),
    ("Hoa\u0300 đơn", "hoa don"),  # decomposed accents (NFD) fold the same way
])
def test_text_is_folded_before_matching(left, right):
    assert fold(left) == right


def test_the_text_index_weights_exactly_as_the_scikit_learn_vectoriser():
    from sklearn.feature_extraction.text import TfidfVectorizer

    from app.recommender import text

    programme(code="TXT-1", summary={"vi": "Phần mềm kế toán và hoá đơn", "en": "Accounting software"},
              pillars=["operations", "data"], sectors=["G"], kind=ProgrammeKind.TRAINING)
    partner(code="P-TXT", categories=["traceability", "ecommerce"], summary={"vi": "Tem truy xuất", "en": "QR"})
    partner(code="P-TXT-2", categories=["website"], pillars=[], summary={"vi": "Web bán hàng", "en": "Shop sites"})
    snap = snapshot.current()
    parts = text.part_texts(snap.framework)
    docs = [" ".join([d.own, *(parts[key] for key in d.parts)])
            for d in snapshot.documents(snap.programmes, snap.partners)]
    labels = [parts[key] for key in snap.text.label_keys]
    reference = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, max_df=text.MAX_DF,
                                lowercase=False).fit([*docs, *labels])
    assert set(reference.vocabulary_) == set(snap.text.vocabulary)
    order = [snap.text.vocabulary[gram] for gram in reference.get_feature_names_out()]
    assert np.allclose(snap.text.items.toarray()[:, order], reference.transform(docs).toarray())
    assert np.allclose(snap.text.labels[:, order], reference.transform(labels).toarray())
    for needs in ("Cần phần mềm kế toán", "truy xuat nguon goc QR cho nông sản"):
        fast = snap.text.vector(needs)
        dense = np.zeros(len(order))
        dense[fast.indices] = fast.values
        assert np.allclose(dense[order], reference.transform([fold(needs)]).toarray().ravel())
    assert snap.text.vector("!!! …") is None and snap.text.vector("") is None


def test_top_rows_breaks_ties_by_index_and_respects_the_mask():
    scores = np.array([[0.5, 0.9, 0.5, 0.9, 0.1], [0.2, 0.2, 0.2, 0.2, 0.2]])
    allowed = np.array([[True, True, True, True, False], [True, False, True, True, True]])
    assert [r.tolist() for r in engine.top_rows(scores, allowed, 3)] == [[1, 3, 0], [0, 2, 3]]
    assert [r.tolist() for r in engine.top_rows(scores, allowed, None)] == [[1, 3, 0, 2], [0, 2, 3, 4]]
    assert [r.tolist() for r in engine.top_rows(scores, allowed, 0)] == [[], []]
    assert [r.tolist() for r in engine.top_rows(scores, np.zeros_like(allowed), 2)] == [[], []]


def test_training_featurises_pairs_exactly_as_serving_scores_them():
    for pillar in ("data", "customer", "operations"):
        programme(code=f"PAIR-{pillar.upper()}", pillars=[pillar], sectors=["G"] if pillar == "data" else [])
        partner(code=f"P-PAIR-{pillar.upper()}", pillars=[pillar], price_band=PriceBand.HIGH, sectors=["A"])
    snap = snapshot.current()
    records = synthetic_records(snap, n=12)
    pairs = outcome_model.pairs_of(snap, [(r, np.array([snap.item_index[(r.item_type, r.code)]])) for r in records])
    trained_view = pairs.content(snap)
    for position, r in enumerate(records):
        org = org_features(r.kind, r.sector, r.size_class, r.pillar_scores, r.level, snap.pillars)
        served = content.score(snap, org, snap.text.vector(r.needs))
        item = snap.item_index[(r.item_type, r.code)]
        for part in ("pillar", "needs", "profile", "sector_match", "total"):
            assert np.isclose(getattr(trained_view, part)[position], getattr(served, part)[item]), part


def test_the_served_outcome_model_computes_exactly_the_fitted_estimator():
    for pillar in ("data", "customer", "operations", "culture"):
        programme(code=f"M-{pillar.upper()}", pillars=[pillar])
        partner(code=f"P-M-{pillar.upper()}", pillars=[pillar], price_band=PriceBand.MEDIUM)
    snap = snapshot.current()
    model = outcome_model.fit(synthetic_records(snap), snap, seed=0)
    org = org_features("enterprise", "G", "small", WEAK_DATA, 2, snap.pillars)
    scores = content.score(snap, org, snap.text.vector("quản lý dữ liệu"))
    idx = np.arange(snap.n_items)
    expected = model.estimator.decision_function(model.design(snap, org, scores, idx))
    assert np.allclose(model.logits(snap, org, scores, idx), expected)
    assert len(model.spec["names"]) == model.estimator.coef_.shape[1]
    # It learned the pattern in the data: the item covering the weakest pillar is the likeliest success.
    probabilities = model.probabilities(snap, org, scores, idx)
    best = int(np.argmax(probabilities))
    assert "data" in (snap.programmes + snap.partners)[best].pillars


def test_evaluate_on_the_demo_outcomes_beats_popularity(runner):
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    assert db.session.scalar(select(func.count(Outcome.id))) > 200
    result = runner.invoke(args=["recommender", "evaluate"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines()[2:]}
    assert {"recommender", "content", "popularity", "random"} <= set(rows)
    assert "nDCG@5" in result.output and "P@5" in result.output and "coverage" in result.output

    def ndcg(name):
        return float(rows[name].split()[-3])

    assert ndcg("recommender") > ndcg("popularity") > ndcg("random")


def test_evaluate_without_outcomes_says_so(runner):
    result = runner.invoke(args=["recommender", "evaluate"])
    assert result.exit_code == 1 and "No outcomes" in result.output


def test_demo_outcomes_are_plausible_and_generated_once():
    for number, pillar in enumerate(("data", "customer", "operations")):
        programme(code=f"DEMO-{number}", pillars=[pillar])
        partner(code=f"P-DEMO-{number}", pillars=[pillar])
    partner(code="P-DEMO-PENDING", status=PartnerStatus.PENDING)
    created = demo_outcomes.generate(extra_organisations=6, today=date(2026, 11, 1))
    db.session.commit()
    assert created > 20
    assert demo_outcomes.generate(extra_organisations=6, today=date(2026, 11, 1)) == 0
    outcomes = db.session.scalars(select(Outcome)).all()
    assert len(outcomes) == created
    assert {o.source for o in outcomes} == {"demo"}
    assert "P-DEMO-PENDING" not in {o.item_code for o in outcomes}
    assert all(datetime(2024, 1, 1, tzinfo=UTC) <= o.occurred_at < datetime(2026, 11, 1, tzinfo=UTC)
               or o.kind.value == "completed" for o in outcomes)
    for o in outcomes:
        if o.item_type == "partner":
            assert o.kind.value == "rating" and 1 <= o.rating <= 5
        else:
            assert o.kind.value in ("approved", "completed", "rejected") and o.rating is None
            if o.kind.value != "completed":
                assert date(2026, 1, 1) <= o.occurred_at.date() <= date(2026, 12, 31)
        assert o.assessment_id is not None


def test_an_empty_catalogue_recommends_nothing_without_failing():
    result = recommender.recommend(profile(), WEAK_DATA, 2, needs="phần mềm kế toán", on_date=ON)
    assert (result.programmes, result.partners, result.not_eligible) == ((), (), ())
    assert result.model_version == "content-1"


def test_changes_by_this_process_are_seen_at_once_and_others_after_the_recheck(app, monkeypatch):
    from sqlalchemy import text

    monkeypatch.setitem(app.config, "RECOMMENDER_CATALOGUE_RECHECK_SECONDS", 3600)
    item = programme(code="WATCHED")
    assert codes(recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON).programmes) == ["WATCHED"]
    item.level_min = 3  # through the ORM, in this process: seen by the next call
    db.session.commit()
    assert recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON).programmes == ()
    # Another process (simulated with plain SQL, which this process's session events do not see).
    db.session.execute(text("UPDATE programme SET level_min = 0, updated_at = :now"),
                       {"now": datetime(2030, 1, 1, tzinfo=UTC)})
    db.session.commit()
    assert recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON).programmes == ()
    monkeypatch.setitem(app.config, "RECOMMENDER_CATALOGUE_RECHECK_SECONDS", 0)
    assert codes(recommender.recommend(profile(), WEAK_DATA, 2, on_date=ON).programmes) == ["WATCHED"]
