"""Names of agencies and fields come from data, with a readable fallback."""

from __future__ import annotations

from services.reporter.labels import Labels


def test_known_names_by_unit_kind():
    """Công an xã for a commune, Công an cấp xã for a province; fields by their lĩnh vực."""
    labels = Labels()
    assert labels.agency("cong_an") == "Công an xã"
    assert labels.agency("cong_an", "province") == "Công an cấp xã"
    assert labels.agency("quan_su") == "Ban Chỉ huy Quân sự xã"
    assert labels.field("ho_tich") == "Lĩnh vực Hộ tịch"
    assert labels.field("unspecified") == "Chưa xác định lĩnh vực"


def test_unknown_slugs_fall_back_readably_and_deployments_add_names():
    """An unknown slug is shown readably; a deployment's own names win."""
    assert Labels().agency("kho_bac") == "Kho bac"
    assert Labels().field("tai_nguyen") == "Lĩnh vực tai nguyen"
    labels = Labels({"agencies": {"kho_bac": "Kho bạc Nhà nước"}, "fields": {"ho_tich": "Hộ tịch"}})
    assert labels.agency("kho_bac") == "Kho bạc Nhà nước" and labels.field("ho_tich") == "Hộ tịch"


def test_order_follows_the_names_file_then_other_and_unspecified_last():
    """Known slugs in file order, unknown ones after, `other` and `unspecified` last."""
    slugs = ["unspecified", "zz", "chung_thuc", "other", "ho_tich"]
    assert Labels().order("fields", slugs) == ["ho_tich", "chung_thuc", "zz", "other", "unspecified"]
