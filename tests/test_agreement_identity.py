"""Agreement identity and rename matching: the edits ICE makes by hand, one by one."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.agreement_matching import match_vanished
from sources.agreement_identity import agreement_key, canonical_model, state_code
from sources.base import AgreementRow


@pytest.mark.parametrize(("state", "one", "other"), [
    ("ALABAMA", "Crenshaw County Sheriff's Office", "Crenshaw County Sheriff\u2019s Office"),
    ("ALABAMA", "Crenshaw County Sheriff's Office", "Crenshaw County Sheriffs Office"),
    ("ALABAMA", "Crenshaw County Sheriff's Office", "Crenshaw County Sheriff Office"),
    ("ALABAMA", "Crenshaw County Sheriff's Office", "Crenshaw County Sheriff's Department"),
    ("ALABAMA", "Crenshaw County Sheriff's Office", "Crenshaw Co. Sheriff's Dept."),
    ("ALABAMA", "Crenshaw County Sheriff's Office", "  CRENSHAW  county sheriff's office "),
    ("ALABAMA", "Crenshaw County Sheriff's Office", "Crenshaw County SO"),
    ("ALABAMA", "Crenshaw County Sheriff's Office", "Crenshaw County Sherif's Office"),
    ("FLORIDA", "Fort Myers Police Department", "Ft. Myers Police Department"),
    ("FLORIDA", "Fort Myers Police Department", "Ft Myers PD"),
    ("FLORIDA", "St. Lucie County Sheriff's Office", "Saint Lucie County Sheriff's Office"),
    ("FLORIDA", "Department of Law Enforcement", "Florida Department of Law Enforcement"),
    ("FLORIDA", "Fish and Wildlife Conservation Commission",
     "Florida Fish & Wildlife Conservation Commission"),
    ("ALASKA", "City of Kodiak Police Department", "Kodiak Police Department"),
    ("FLORIDA", "Town of Palm Beach Police Dept.", "Palm Beach Police Department"),
    ("FLORIDA", "Miami-Dade Sheriff's Office", "Miami Dade Sheriff's Office"),
    ("TEXAS", "Texas Department of Public Safety", "Department of Public Safety"),
])
def test_cosmetic_edits_are_one_agreement(state: str, one: str, other: str) -> None:
    model = "Task Force Model"
    assert agreement_key(state, one, model) == agreement_key(state, other, model)


@pytest.mark.parametrize(("one", "other"), [
    ("Lee County Sheriff's Office", "Leon County Sheriff's Office"),
    ("Lake County Sheriff's Office", "Lake City Police Department"),
    ("St. Johns County Sheriff's Office", "St. Lucie County Sheriff's Office"),
    ("Brevard County Sheriff's Office", "Brevard County Board of County Commissioners"),
])
def test_other_agencies_stay_apart(one: str, other: str) -> None:
    model = "Task Force Model"
    assert agreement_key("FLORIDA", one, model) != agreement_key("FLORIDA", other, model)


@pytest.mark.parametrize(("text", "model"), [
    ("Warrant Service Officer", "Warrant Service Officer"),
    ("Warrant Services Officer", "Warrant Service Officer"),
    ("warrant service officer ", "Warrant Service Officer"),
    ("Warrant Service Officer (WSO)", "Warrant Service Officer"),
    ("WSO", "Warrant Service Officer"),
    ("Task Force Officer", "Task Force Model"),
    ("Task Force", "Task Force Model"),
    ("TASK FORCE MODEL", "Task Force Model"),
    ("Jail Enforcment Model", "Jail Enforcement Model"),
    ("Jail Enforcement", "Jail Enforcement Model"),
    ("Something New", "Something New"),
])
def test_support_types_read_as_their_model(text: str, model: str) -> None:
    assert canonical_model(text) == model


def test_states_by_name_or_code() -> None:
    assert state_code("FLORIDA") == state_code("fl") == state_code(" Florida ") == "FL"
    assert state_code("NEW HAMPSHIRE") == "NH" and state_code("Puerto Rico") == "PR"
    assert state_code("FLORDIA") == "FL" and state_code("NORTH CAROLNA") == "NC"
    assert state_code("Iowa") == "IA" and state_code("OHIO") == "OH"


def row(agency: str, *, county: str = "", signed: date | None = date(2025, 2, 20),
        model: str = "Task Force Model", state: str = "FLORIDA") -> AgreementRow:
    return AgreementRow(state, agency, model, "participating", county=county, signed=signed)


def test_tiers_each_find_their_rename() -> None:
    vanished = [
        row("Hillsborough County Sheriff's Office", county="Hillsborough County"),
        row("Okaloosa County Sheriff's Office", county="Okaloosa County"),
        row("Panama City Beach Police Department", signed=date(2025, 3, 1)),
        row("Marion County Sheriff's Office", county="Marion County", signed=date(2025, 3, 2)),
    ]
    appeared = [
        row("Hillsborough County Sheriff's Office - Detention Division",
            county="Hillsborough County"),
        row("Okaloosa County Sheriff's Offic", county="Okaloosa County"),
        row("Panama Cty Beach Police Department", signed=date(2025, 3, 1)),
        row("Marion County Board of County Commissioners", county="Marion County",
            signed=date(2025, 3, 2)),
    ]
    matches = {(m.old.agency, m.new.agency): m.how for m in match_vanished(vanished, appeared)}
    assert matches == {
        ("Hillsborough County Sheriff's Office",
         "Hillsborough County Sheriff's Office - Detention Division"): "prefix/suffix",
        ("Okaloosa County Sheriff's Office", "Okaloosa County Sheriff's Offic"):
            "prefix/suffix",
        ("Panama City Beach Police Department", "Panama Cty Beach Police Department"):
            "edit distance",
        ("Marion County Sheriff's Office", "Marion County Board of County Commissioners"):
            "moved",
    }


def test_tokens_and_county_tier() -> None:
    matches = match_vanished(
        [row("Polk County Sheriff's Office", county="Polk County")],
        [row("Sheriff Grady Judd Polk Sheriff's Office", county="Polk County")],
    )
    assert [(m.how) for m in matches] == ["tokens + county"]


def test_no_match_when_facts_disagree_or_it_is_ambiguous() -> None:
    # close names, different county cells: two agreements, not a rename
    assert match_vanished([row("Lee County Sheriff's Office", county="Lee County")],
                          [row("Lea County Sheriff's Office", county="Lea County")]) == []
    # different SIGNED dates and no county to anchor them
    assert match_vanished([row("Bradenton Police Department")],
                          [row("Bradenton Beach Police Department",
                               signed=date(2025, 5, 1))]) == []
    # another model is another agreement (unless the same agency and day: a relabel)
    assert match_vanished([row("Sarasota Police Department", model="Task Force Model")],
                          [row("Sarasota Pol. Department", model="Warrant Service Officer",
                               signed=date(2025, 6, 1))]) == []
    # two equally good candidates: leave both alone rather than guess
    assert match_vanished(
        [row("Clay County Sheriff's Office", county="Clay County")],
        [row("Clay County Sheriff's Office Unit A", county="Clay County"),
         row("Clay County Sheriff's Office Unit B", county="Clay County")]) == []


def test_a_relabelled_model_on_the_same_day_is_one_agreement() -> None:
    matches = match_vanished([row("Ocala Police Department", model="Task Force Model")],
                             [row("Ocala Police Department", model="Warrant Service Officer")])
    assert [m.how for m in matches] == ["model"]


def test_a_rename_with_a_revised_date_or_a_fixed_county_cell_is_still_a_rename() -> None:
    matches = match_vanished(
        [row("Santa Rosa County Sheriff's Office", county="Santa Rosa County"),
         row("Etoah County Sheriff's Office", county="Etoah County")],
        [row("Santa Rosa Cnty Sherrif Office Jail", county="Santa Rosa County",
             signed=date(2025, 2, 27)),
         row("Etowah County Sheriff's Office", county="Etowah County")],
    )
    assert sorted((m.new.agency, m.how) for m in matches) == [
        ("Etowah County Sheriff's Office", "edit distance"),
        ("Santa Rosa Cnty Sherrif Office Jail", "prefix/suffix"),
    ]
