"""Words the recommender matches a business's needs against, in Vietnamese and English.

These are data, like the sector names in ``app/data``: the text matcher reads both languages whatever the
interface language, and the reasons pick one. Each entry has a short ``label`` (shown in reasons) and
``words``: everyday terms a shop owner might type (matched, never shown).
"""

from __future__ import annotations

#: Partner solution categories (``PARTNER_CATEGORIES``), the pillar each mainly improves, and their words.
CATEGORIES: dict[str, dict[str, str]] = {
    "e_invoice": {"pillar": "operations", "vi": "hoá đơn điện tử", "en": "e-invoicing",
                  "words": "hóa đơn điện tử xuất hóa đơn máy tính tiền thuế khai thuế e-invoice tax invoice"},
    "accounting": {"pillar": "operations", "vi": "phần mềm kế toán", "en": "accounting software",
                   "words": "kế toán sổ sách thu chi công nợ báo cáo tài chính bookkeeping accounting ledger"},
    "pos_sales": {"pillar": "operations", "vi": "phần mềm bán hàng", "en": "point-of-sale software",
                  "words": "bán hàng tính tiền quản lý kho tồn kho mã vạch máy pos cash register stock inventory"},
    "ecommerce": {"pillar": "customer", "vi": "bán hàng trực tuyến", "en": "online selling",
                  "words": "bán online sàn thương mại điện tử shopee lazada tiktok shop đặt hàng online "
                           "ecommerce online shop marketplace"},
    "website": {"pillar": "customer", "vi": "trang web", "en": "websites",
                "words": "trang web website tên miền giới thiệu sản phẩm web page domain"},
    "digital_marketing": {"pillar": "customer", "vi": "tiếp thị số", "en": "digital marketing",
                          "words": "quảng cáo facebook zalo fanpage tiếp thị khách hàng mới marketing "
                                   "advertising social media"},
    "crm": {"pillar": "customer", "vi": "quản lý khách hàng", "en": "customer management",
            "words": "chăm sóc khách hàng danh sách khách hàng khách quen tích điểm crm customer loyalty"},
    "erp": {"pillar": "operations", "vi": "phần mềm quản trị tổng thể", "en": "business management software",
            "words": "quản trị doanh nghiệp sản xuất kho vật tư quy trình erp enterprise resource planning"},
    "hr_payroll": {"pillar": "culture", "vi": "quản lý nhân sự, tiền lương", "en": "HR and payroll",
                   "words": "nhân sự chấm công tính lương bảo hiểm nhân viên payroll staff attendance"},
    "digital_signature": {"pillar": "infrastructure", "vi": "chữ ký số", "en": "digital signatures",
                          "words": "chữ ký số ký điện tử token hợp đồng điện tử digital signature e-contract"},
    "cloud_storage": {"pillar": "data", "vi": "lưu trữ đám mây", "en": "cloud storage",
                      "words": "lưu trữ sao lưu đám mây dữ liệu máy chủ backup cloud storage server"},
    "cybersecurity": {"pillar": "infrastructure", "vi": "an toàn thông tin", "en": "cybersecurity",
                      "words": "an toàn bảo mật virus lừa đảo mật khẩu hack security scam password"},
    "traceability": {"pillar": "data", "vi": "truy xuất nguồn gốc", "en": "traceability",
                     "words": "truy xuất nguồn gốc mã qr tem ocop nông sản xuất khẩu traceability qr code origin"},
    "booking": {"pillar": "customer", "vi": "đặt chỗ trực tuyến", "en": "online booking",
                "words": "đặt phòng đặt bàn đặt lịch homestay khách sạn du lịch booking reservation hotel tour"},
    "logistics_tracking": {"pillar": "operations", "vi": "quản lý vận chuyển", "en": "delivery tracking",
                           "words": "vận chuyển giao hàng xe tải định vị gps logistics delivery shipping fleet"},
    "data_analytics": {"pillar": "data", "vi": "phân tích dữ liệu", "en": "data analysis",
                       "words": "phân tích số liệu báo cáo thống kê doanh thu dashboard analytics report"},
    "training": {"pillar": "culture", "vi": "đào tạo kỹ năng số", "en": "digital skills training",
                 "words": "đào tạo tập huấn học kỹ năng số hướng dẫn sử dụng training course skills"},
    "consulting": {"pillar": "strategy", "vi": "tư vấn chuyển đổi số", "en": "digital transformation advice",
                   "words": "tư vấn kế hoạch lộ trình chiến lược chuyển đổi số consulting advice roadmap plan"},
}

#: What an item that covers a pillar helps with (ends the reason "this programme supports ..."), and words.
PILLARS: dict[str, dict[str, str]] = {
    "customer": {"vi": "công cụ số để bán hàng và phục vụ khách hàng",
                 "en": "digital tools to sell to and serve customers",
                 "words": "khách hàng bán hàng online quảng cáo customers sales marketing"},
    "strategy": {"vi": "lập kế hoạch chuyển đổi số", "en": "planning your digital transformation",
                 "words": "chiến lược kế hoạch lộ trình đầu tư strategy plan roadmap"},
    "infrastructure": {"vi": "thiết bị, mạng và hạ tầng số", "en": "equipment, networks and digital infrastructure",
                       "words": "máy tính internet wifi mạng thiết bị phần cứng bảo mật computer network hardware"},
    "operations": {"vi": "phần mềm cho công việc hằng ngày", "en": "software for day-to-day work",
                   "words": "quản lý vận hành kho sản xuất quy trình operations process inventory software"},
    "culture": {"vi": "kỹ năng số cho chủ và nhân viên", "en": "digital skills for owners and staff",
                "words": "đào tạo nhân viên kỹ năng thay đổi thói quen training staff skills"},
    "data": {"vi": "công cụ quản lý dữ liệu", "en": "data management tools",
             "words": "dữ liệu số liệu sổ sách báo cáo sao lưu data records reports backup"},
}

#: Programme kinds (``ProgrammeKind`` values): labels and words.
PROGRAMME_KINDS: dict[str, dict[str, str]] = {
    "subsidy": {"vi": "hỗ trợ kinh phí", "en": "a subsidy", "words": "hỗ trợ kinh phí tiền tài trợ subsidy grant"},
    "voucher": {"vi": "phiếu hỗ trợ", "en": "a voucher", "words": "phiếu voucher miễn phí giảm giá free discount"},
    "consulting": {"vi": "tư vấn", "en": "advice", "words": "tư vấn chuyên gia consulting expert advice"},
    "training": {"vi": "đào tạo", "en": "training", "words": "đào tạo tập huấn khóa học training course"},
    "platform": {"vi": "nền tảng số", "en": "a digital platform", "words": "nền tảng ứng dụng phần mềm platform app"},
    "loan": {"vi": "vay ưu đãi", "en": "a preferential loan", "words": "vay vốn lãi suất ưu đãi loan credit interest"},
}


def label(entry: dict[str, str], locale: str) -> str:
    """An entry's label in ``locale`` (``vi`` or ``en``)."""
    return entry["en"] if locale == "en" else entry["vi"]
