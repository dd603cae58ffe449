"""The closed vocabularies match the strings the workspace, CLI and API already use."""

from safetygap import FAMILIES
from safetygap._status import STATUS_ORDER
from safetygap.geo.boundary import BOUNDARY_POLICIES
from safetygap.geo.travel import TRAVEL_KINDS
from safetygap.taxonomy import TRAVEL_MODES
from safetygap.vocab import (
    BoundaryPolicy,
    Channel,
    Family,
    RowStatus,
    TravelKind,
    TravelMode,
    allowed,
)


def test_vocabularies_match_existing_strings():
    assert allowed(Family) == FAMILIES
    assert allowed(RowStatus) == STATUS_ORDER
    assert allowed(BoundaryPolicy) == BOUNDARY_POLICIES
    assert allowed(TravelKind) == TRAVEL_KINDS
    assert allowed(TravelMode) == TRAVEL_MODES


def test_members_are_their_strings():
    assert Family("prevention") is Family.PREVENTION
    assert f"{Family.RESPONSE}" == "response"
    assert {Channel.POLICE: 1}["police"] == 1


def test_diverted_channels():
    assert {c.value for c in Channel if c.diverted} == {
        "behavioral_crisis",
        "traffic_control",
        "animal_control",
        "report_311_online",
        "other_non_police",
    }
