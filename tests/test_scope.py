"""The sub-centre rule (dashboard/domain/scope.py)."""
import pytest

from dashboard.domain.scope import ScopeError, covers, covers_code, level, validate

STREET, OTHER = "110101001", "110101002"
COMMUNITY = "110101001003"


def test_district_covers_everything():
    assert covers(None, OTHER, OTHER + "001") and covers("", STREET) and covers_code(None, "x")
    assert level(None) == "district" and level(STREET) == "street" and level(COMMUNITY) == "community"


def test_street_covers_its_own_street_only():
    assert covers(STREET, STREET, COMMUNITY)
    assert covers(STREET, None, COMMUNITY)
    assert not covers(STREET, OTHER, OTHER + "001")
    assert not covers(STREET, None, None)
    assert covers_code(STREET, COMMUNITY + "007") and not covers_code(STREET, OTHER + "001007")


def test_community_covers_its_own_community_only():
    assert covers(COMMUNITY, STREET, COMMUNITY)
    assert not covers(COMMUNITY, STREET, STREET + "004")
    assert not covers(COMMUNITY, STREET, None)
    assert covers_code(COMMUNITY, COMMUNITY + "001") and not covers_code(COMMUNITY, STREET)


def test_validate():
    assert validate(None) is None and validate("  ") is None
    assert validate(STREET, streets={STREET}) == STREET
    assert validate(COMMUNITY, communities={COMMUNITY}) == COMMUNITY
    for bad in ("1101010", "abcdefghi", "1101010010031"):
        with pytest.raises(ScopeError, match="9-digit street or 12-digit community"):
            validate(bad)
    with pytest.raises(ScopeError, match="unknown street"):
        validate(OTHER, streets={STREET})
    with pytest.raises(ScopeError, match="unknown community"):
        validate(STREET + "999", communities={COMMUNITY})


def test_a_community_stations_regions_page_opens_inside_its_street():
    from callbacks.regions import scoped_path, view_of
    assert view_of(scoped_path({}, COMMUNITY)) == ("community", STREET)
    assert view_of(scoped_path({}, STREET)) == ("street", None)
    assert view_of(scoped_path({}, None)) == ("street", None)
    assert view_of(scoped_path({"street": STREET, "community": COMMUNITY}, COMMUNITY)) == ("grid", COMMUNITY)
