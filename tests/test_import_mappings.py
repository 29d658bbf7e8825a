"""The shipped NYC 311 and Boston 311 mappings read exports with those cities' real public
headers and date formats (a few rows each, written here in the published column order)."""
from __future__ import annotations

import csv

import pandas as pd
import pytest
from sqlalchemy import select

from datasource.store import schema
from tests.import_helpers import city_settings, import_json

NYC = ["Unique Key", "Created Date", "Closed Date", "Agency", "Agency Name", "Complaint Type", "Descriptor",
       "Location Type", "Incident Zip", "Incident Address", "Street Name", "Cross Street 1", "Cross Street 2",
       "Intersection Street 1", "Intersection Street 2", "Address Type", "City", "Landmark", "Facility Type", "Status",
       "Due Date", "Resolution Description", "Resolution Action Updated Date", "Community Board", "BBL", "Borough",
       "X Coordinate (State Plane)", "Y Coordinate (State Plane)", "Open Data Channel Type", "Park Facility Name",
       "Park Borough", "Vehicle Type", "Taxi Company Borough", "Taxi Pick Up Location", "Bridge Highway Name",
       "Bridge Highway Direction", "Road Ramp", "Bridge Highway Segment", "Latitude", "Longitude", "Location"]
BOSTON = ["case_enquiry_id", "open_dt", "target_dt", "closed_dt", "ontime", "case_status", "closure_reason",
          "case_title", "subject", "reason", "type", "queue", "department", "submittedphoto", "closedphoto", "location",
          "fire_district", "pwd_district", "city_council_district", "police_district", "neighborhood",
          "neighborhood_services_district", "ward", "precinct", "location_street_name", "location_zipcode", "latitude",
          "longitude", "source"]
CASES = {
    "nyc311": (NYC, [
        {"Unique Key": "41234567", "Created Date": "01/31/2019 03:04:05 PM", "Closed Date": "02/01/2019 09:00:00 AM",
         "Agency": "DSNY", "Agency Name": "Department of Sanitation", "Complaint Type": "Dirty Conditions",
         "Descriptor": "Trash", "Incident Address": "100 BROADWAY", "Status": "Closed",
         "Due Date": "02/07/2019 03:04:05 PM", "Resolution Description": "Cleaned.", "Latitude": "40.7081",
         "Longitude": "-74.0110"},
        {"Unique Key": "41234568", "Created Date": "03/10/2019 01:30:00 AM", "Agency": "NYPD",
         "Agency Name": "New York City Police Department", "Complaint Type": "Noise - Residential",
         "Status": "In Progress", "Latitude": "40.7500", "Longitude": "-73.9900"},
    ], (-74.05, 40.65, -73.90, 40.80), "America/New_York", "2019-01-31 20:04:05", "2019-02-07 20:04:05"),
    "boston311": (BOSTON, [
        {"case_enquiry_id": "101002751324", "open_dt": "2019-01-01 00:13:00", "target_dt": "2019-01-03 08:30:00",
         "closed_dt": "2019-01-02 10:00:00", "case_status": "Closed", "closure_reason": "Case Resolved",
         "case_title": "Pothole", "type": "Request for Pothole Repair", "department": "PWDx",
         "location": "INTERSECTION of Tremont St & Park St", "latitude": "42.3565", "longitude": "-71.0621"},
        {"case_enquiry_id": "101002751325", "open_dt": "2019-01-01 09:00:00", "case_status": "Open",
         "type": "Missed Trash/Recycling/Yard Waste/Bulk Item", "department": "PWDx", "latitude": "42.3400",
         "longitude": "-71.0800"},
    ], (-71.20, 42.25, -70.95, 42.42), "America/New_York", "2019-01-01 05:13:00", "2019-01-03 13:30:00"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_shipped_mapping_reads_its_city_export(name, tmp_path, stream_key, redis_server_url):
    from datasource.system import System
    header, rows, bbox, zone, reported, deadline = CASES[name]
    points = pd.DataFrame({"lon": [bbox[0], bbox[2]], "lat": [bbox[1], bbox[3]]})
    settings = city_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", stream_key, redis_server_url,
                             points, zone)
    path = tmp_path / f"{name}.csv"
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    summary = import_json(settings, str(path), "--mapping", name)
    assert (summary["read"], summary["imported"], summary["skipped"]) == (2, 2, 0), summary
    assert summary["drained"]["dead"] == 0
    system = System(settings).start()
    try:
        with system.engine.connect() as c:
            cases = c.execute(select(schema.cases).order_by(schema.cases.c.reported_at)).all()
    finally:
        system.close()
    first, second = cases
    assert str(first.reported_at).startswith(reported)          # local time of the export → UTC
    assert str(first.handle_deadline_at).startswith(deadline)   # its due date is the deadline
    assert first.stage == "closed" and first.handled_on_time is True
    assert second.stage == "dispatched" and second.closed_at is None
