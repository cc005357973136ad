"""A concrete next step per pillar for the results page: one for a low score, one for a fair one.

Written for a shop owner: something they can start this month without a consultant. The texts are
page copy (translated with the catalogue), not framework data, so they can be improved without
publishing a new framework version.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: Below this pillar score the first step is suggested, from it on the next one.
FAIR_SCORE = 50

NEXT_STEPS = {
    "customer": (
        _l("Let customers pay by bank transfer or QR code (VietQR), and put your products, prices and phone "
           "number on a Zalo or Facebook page."),
        _l("Sell through one more online channel, such as a marketplace or your own website, and answer "
           "customers' messages the same day."),
    ),
    "strategy": (
        _l("Write on one page the two or three jobs you want to do digitally this year, who takes care of "
           "them and how much you can spend."),
        _l("Choose a few figures to follow, such as online sales or hours saved, check them every quarter, and "
           "ask the Department which support programmes fit your plan."),
    ),
    "infrastructure": (
        _l("Turn on two-step verification for your bank, e-mail and Zalo accounts, and use a strong, "
           "different password for each."),
        _l("Keep your files in a cloud service with automatic backup, and connect your sales, invoicing and "
           "accounting software so data is typed in only once."),
    ),
    "operations": (
        _l("Issue electronic invoices and record income and expenses in a simple bookkeeping app instead of "
           "a paper notebook."),
        _l("Link invoicing, stock and accounting, and file your tax and social insurance declarations "
           "online."),
    ),
    "culture": (
        _l("Take a short, free online course on digital skills and on spotting online scams, together with "
           "your family or staff."),
        _l("Give staff a little time each month to learn a new tool, and let them try small improvements "
           "and share what worked."),
    ),
    "data": (
        _l("Keep your customers and their orders in one list, in one place, and back up your phone or "
           "computer every week."),
        _l("Look at your sales and customer figures every month to decide what to buy and promote, and ask "
           "customers' consent before using their personal data."),
    ),
}

GENERIC_STEP = (
    _l("Pick one task in this area that still takes a lot of paper or phone calls and try a digital tool "
       "for it."),
    _l("Build on what works: connect the tools you already use in this area and train a colleague to use "
       "them too."),
)


def next_step(pillar: str, score: float):
    """The advice for a pillar at this score (a lazy string, translated when shown)."""
    first, later = NEXT_STEPS.get(pillar, GENERIC_STEP)
    return first if score < FAIR_SCORE else later
