"""Sample data for the printing tests and the PDF bench: what ``plans.printable(plan, locale)`` returns.

``sample_printable`` builds a typical plan (six pillars, three phases, 14 actions, three programmes,
three partners) with real Vietnamese text, a radar chart from the real ``radar_svg`` and an organisation
name full of diacritics, so a PDF that loses a letter or a pillar fails a test.
"""

from __future__ import annotations

import copy
from typing import Any

from app.services import radar

ORGANISATION_NAME = "Hợp tác xã Nông nghiệp Đức Phổ – Nước mắm Sa Huỳnh"
PLAN_URL = "https://dxportal.quangngai.gov.vn/organisations/7/plans/12"

PILLARS = {
    "vi": [("customer", "Trải nghiệm số cho khách hàng"), ("strategy", "Chiến lược"),
           ("infrastructure", "Hạ tầng và công nghệ số"), ("operations", "Vận hành"),
           ("culture", "Chuyển đổi văn hoá doanh nghiệp"), ("data", "Dữ liệu và tài sản thông tin")],
    "en": [("customer", "Digital customer experience"), ("strategy", "Strategy"),
           ("infrastructure", "Digital infrastructure and technology"), ("operations", "Operations"),
           ("culture", "Organisational culture change"), ("data", "Data and information assets")],
}
SCORES = {"customer": 22.5, "strategy": 12.0, "infrastructure": 41.0, "operations": 35.5, "culture": 18.0,
          "data": 9.5}

_ACTIONS_VI = [
    ("customer", "Lập trang Zalo OA và Google Maps cho cửa hàng", "Khách chưa tìm thấy hợp tác xã trên mạng"),
    ("operations", "Dùng hoá đơn điện tử có mã của cơ quan thuế", "Bắt buộc theo Nghị định 123/2020/NĐ-CP"),
    ("data", "Sao lưu sổ sách lên dịch vụ lưu trữ đám mây mỗi tuần", "Mất máy tính là mất hết số liệu"),
    ("strategy", "Cử một người phụ trách chuyển đổi số", "Chưa có ai theo dõi kế hoạch"),
    ("culture", "Cho nhân viên học khoá kỹ năng số cơ bản miễn phí", "Nhân viên ngại dùng phần mềm mới"),
    ("infrastructure", "Nâng cấp mạng internet và lắp bộ phát Wi-Fi riêng cho khách", "Mạng chập chờn giờ cao điểm"),
    ("operations", "Dùng phần mềm bán hàng có quản lý kho", "Kiểm kho bằng tay mất nửa ngày mỗi tuần"),
    ("customer", "Bán trên một sàn thương mại điện tử", "Mở rộng khách ngoài tỉnh"),
    ("data", "Lưu danh sách khách hàng trong phần mềm, có sự đồng ý của khách", "Tuân thủ Nghị định 13/2023"),
    ("strategy", "Đặt mục tiêu doanh thu trực tuyến cho năm tới", "Đo được kết quả của kế hoạch"),
    ("infrastructure", "Cài phần mềm diệt virus và bật xác thực hai lớp", "Giảm rủi ro mất tài khoản"),
    ("customer", "Nhận thanh toán bằng mã QR và ví điện tử", "Khách ưa chuyển khoản"),
    ("operations", "Kết nối phần mềm kế toán với ngân hàng", "Đối chiếu số dư tự động"),
    ("culture", "Họp hằng tháng xem số liệu bán hàng cùng nhân viên", "Ra quyết định dựa trên số liệu"),
]
_ACTIONS_EN = [
    ("customer", "Set up a Zalo OA page and a Google Maps listing", "Customers cannot find the cooperative online"),
    ("operations", "Use e-invoices with a tax authority code", "Required by Decree 123/2020/ND-CP"),
    ("data", "Back up the books to a cloud service every week", "Losing the computer means losing every record"),
    ("strategy", "Name one person in charge of digital transformation", "Nobody follows the plan yet"),
    ("culture", "Send staff to a free basic digital skills course", "Staff hesitate to use new software"),
    ("infrastructure", "Upgrade the internet line and add guest Wi-Fi", "The connection drops at busy hours"),
    ("operations", "Use sales software that manages stock", "Counting stock by hand takes half a day a week"),
    ("customer", "Sell on an e-commerce marketplace", "Reach customers outside the province"),
    ("data", "Keep the customer list in software, with consent", "Comply with Decree 13/2023"),
    ("strategy", "Set an online sales target for next year", "Measure what the plan achieves"),
    ("infrastructure", "Install antivirus software and turn on two-factor login", "Less risk of losing accounts"),
    ("customer", "Accept QR-code and e-wallet payments", "Customers prefer transfers"),
    ("operations", "Connect the accounting software to the bank", "Balances reconcile automatically"),
    ("culture", "Review sales figures with staff every month", "Decisions based on figures"),
]

_TEXT = {
    "vi": {
        "kind": "Hợp tác xã", "commune": "Phường Đức Phổ", "sector": "Nông nghiệp, lâm nghiệp và thuỷ sản",
        "level_name": "Khởi động",
        "summary": ["Hợp tác xã đang ở mức Khởi động (20,4 điểm).",
                    "Ưu tiên trước hết: dữ liệu và chiến lược, hai trụ cột thấp nhất.",
                    "Ba việc làm ngay trong 3 tháng tới hầu như không tốn tiền.",
                    "Chương trình hỗ trợ của tỉnh có thể chi trả tới 50 % chi phí phần mềm."],
        "phases": [("quick_wins", "Việc làm ngay", "0–3 tháng"), ("foundations", "Xây nền móng", "3–12 tháng"),
                   ("growth", "Tăng trưởng", "12–24 tháng")],
        "owner": ["Chủ nhiệm hợp tác xã", "Kế toán", "Nhân viên bán hàng"],
        "cost": ["Không tốn tiền", "Dưới 5 triệu đồng", "5–20 triệu đồng"],
        "status": ["Chưa làm", "Đang làm", "Đã xong"],
        "help": "Chương trình Hỗ trợ chuyển đổi số doanh nghiệp nhỏ và vừa",
        "programmes": [("SME-DX-2026", "Hỗ trợ chuyển đổi số doanh nghiệp nhỏ và vừa năm 2026", 50_000_000,
                        "Nộp hồ sơ trực tuyến trên cổng, kèm báo giá của đơn vị cung cấp."),
                       ("COOP-ECOM", "Đưa sản phẩm hợp tác xã lên sàn thương mại điện tử", 20_000_000,
                        "Đăng ký với Liên minh Hợp tác xã tỉnh."),
                       ("SKILLS-2026", "Đào tạo kỹ năng số cho người lao động", 5_000_000,
                        "Đăng ký lớp học trên cổng; học phí được miễn.")],
        "categories": [["Phần mềm kế toán", "Hoá đơn điện tử"], ["Thương mại điện tử"], ["An toàn thông tin"]],
        "radar_title": "Điểm theo trụ cột, từ 0 đến 100", "current": "Lần đánh giá này",
    },
    "en": {
        "kind": "Cooperative", "commune": "Duc Pho Ward", "sector": "Agriculture, forestry and fishing",
        "level_name": "Getting started",
        "summary": ["The cooperative is at the Getting started level (20.4 points).",
                    "First priorities: data and strategy, the two lowest pillars.",
                    "Three actions for the next 3 months cost almost nothing.",
                    "The province's support programme can pay up to 50 % of software costs."],
        "phases": [("quick_wins", "Quick wins", "0–3 months"), ("foundations", "Foundations", "3–12 months"),
                   ("growth", "Growth", "12–24 months")],
        "owner": ["Chair of the cooperative", "Accountant", "Sales staff"],
        "cost": ["Free", "Under 5 million dong", "5–20 million dong"],
        "status": ["To do", "Doing", "Done"],
        "help": "Digital transformation support for small and medium enterprises",
        "programmes": [("SME-DX-2026", "Digital transformation support for SMEs 2026", 50_000_000,
                        "Apply online on the portal with the supplier's quotation."),
                       ("COOP-ECOM", "Cooperative products on e-commerce marketplaces", 20_000_000,
                        "Register with the provincial Cooperative Alliance."),
                       ("SKILLS-2026", "Digital skills training for workers", 5_000_000,
                        "Register for a class on the portal; no fee.")],
        "categories": [["Accounting software", "E-invoices"], ["E-commerce"], ["Information security"]],
        "radar_title": "Scores by pillar, from 0 to 100", "current": "This assessment",
    },
}


def _vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + "\u00a0₫"


def sample_printable(locale: str = "vi", items_per_phase: tuple[int, int, int] = (5, 5, 4),
                     **overrides: Any) -> dict[str, Any]:
    """A typical plan as ``plans.printable`` returns it; ``overrides`` replace top-level keys."""
    text = _TEXT[locale]
    pillars = PILLARS[locale]
    actions = _ACTIONS_VI if locale == "vi" else _ACTIONS_EN
    names = dict(pillars)
    phases = []
    position = 0
    for (code, title, months), count in zip(text["phases"], items_per_phase, strict=True):
        items = []
        for n in range(count):
            pillar, action, why = actions[position % len(actions)]
            position += 1
            items.append({
                "pillar_name": names[pillar], "action": action, "why": why, "owner": text["owner"][n % 3],
                "due": f"{(position % 12) + 1:02d}/2027", "cost_band_label": text["cost"][n % 3],
                "help": text["help"] if n % 2 == 0 else "", "status_label": text["status"][position % 3],
            })
        phases.append({"code": code, "title": title, "months": months, "items": items})
    chart = radar.radar_svg([radar.Axis(name, SCORES[code]) for code, name in pillars],
                            title=text["radar_title"], description=text["radar_title"],
                            current_label=text["current"], id_prefix="radar-print")
    total = sum(items_per_phase)
    data = {
        "locale": locale,
        "organisation": {"name": ORGANISATION_NAME, "kind_label": text["kind"], "commune": text["commune"],
                         "sector_label": text["sector"], "tax_code": "4300123456"},
        "plan": {"id": 12, "version": 3, "date": "05/03/2027", "verification_code": "KH7-Q4M9-X2",
                 "url": PLAN_URL},
        "assessment": {"date": "01/03/2027", "overall_score": 20.4, "overall_level": 1,
                       "level_name": text["level_name"]},
        "summary": list(text["summary"]),
        "radar_svg": str(chart),
        "pillars": [{"code": code, "name": name, "score": SCORES[code], "level": 1 if SCORES[code] >= 10 else 0,
                     "target_level": 2 if SCORES[code] >= 10 else 1} for code, name in pillars],
        "phases": phases,
        "programmes": [{"code": code, "name": name, "max_subsidy_vnd": amount, "max_subsidy_text": _vnd(amount),
                        "how_to_apply": how, "closes_on": "31/12/2027"}
                       for code, name, amount, how in text["programmes"]],
        "partners": [{"name": name, "categories": categories, "phone": phone, "email": email, "website": site}
                     for name, categories, phone, email, site in zip(
                         ["Công ty TNHH Phần mềm Sông Trà", "Công ty CP Thương mại điện tử Thiên Ấn",
                          "Công ty TNHH An ninh mạng Lý Sơn"], text["categories"],
                         ["0255 3822 111", "0905 123 456", "0935 777 888"],
                         ["lienhe@songtra.vn", "hotro@thienan.vn", "info@lyson-sec.vn"],
                         ["https://songtra.vn", "https://thienan.vn", "https://lyson-sec.vn"], strict=True)],
        "progress": {"done": 4, "doing": 3, "total": total, "percent": round(100 * 4 / total)},
    }
    data.update(copy.deepcopy(overrides))
    return data
