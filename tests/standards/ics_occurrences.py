"""Reads an iCalendar file with PyPI's icalendar and expands it with recurring-ical-events.

Usage: ics_occurrences.py FILE FROM TO  (dates as YYYY-MM-DD)
Prints JSON: the calendar's properties and time zones, and every occurrence between FROM and TO with its local
start and end, UTC offset, UID, summary and status. Exits non-zero if the file does not parse.
"""
import datetime
import json
import sys

import icalendar
import recurring_ical_events


def main():
    path, start, end = sys.argv[1:4]
    with open(path, "rb") as f:
        calendar = icalendar.Calendar.from_ical(f.read())
    occurrences = []
    window = (datetime.date.fromisoformat(start), datetime.date.fromisoformat(end))
    for event in recurring_ical_events.of(calendar).between(*window):
        begins, ends = event["DTSTART"].dt, event["DTEND"].dt
        timed = isinstance(begins, datetime.datetime)
        occurrences.append({
            "uid": str(event["UID"]),
            "summary": str(event["SUMMARY"]),
            "description": str(event.get("DESCRIPTION", "")),
            "status": str(event.get("STATUS", "")),
            "start": begins.isoformat(),
            "end": ends.isoformat(),
            "utcOffsetMinutes": int(begins.utcoffset().total_seconds() // 60) if timed else None,
            "timeZone": str(begins.tzinfo) if timed else None,
        })
    occurrences.sort(key=lambda o: (o["start"], o["uid"]))
    print(json.dumps({
        "version": str(calendar.get("VERSION", "")),
        "name": str(calendar.get("NAME", "")),
        "timeZones": [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")],
        "events": len(calendar.walk("VEVENT")),
        "occurrences": occurrences,
    }))


if __name__ == "__main__":
    main()
