"""PDF, HTML and CSV renderings agree with the JSON and hold no picture content."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess

PDF_ROW = re.compile(r"^\s*uk\s+([ABCN])((?:\s+\d+){8})\s*$")


def test_pdf_per_grade_table_equals_json(case: dict) -> None:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext (poppler-utils) is required: apt-get install poppler-utils"
    pdf = case["out"] / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "OP-2024-001" in text and "J. Example" in text
    found = [
        (m.group(1), [int(n) for n in m.group(2).split()])
        for line in text.splitlines()
        if (m := PDF_ROW.match(line))
    ]
    expected = []
    for g in case["report"]["totals"]["grades"]:
        expected.append(
            (
                g["grade"],
                [
                    g["per_exhibit"]["images"],
                    g["images"]["distinct"],
                    g["images"]["items"],
                    g["per_exhibit"]["videos"],
                    g["videos"]["distinct"],
                    g["videos"]["items"],
                    g["other"]["distinct"],
                    g["other"]["items"],
                ],
            )
        )
    # The case table comes first; the exhibit's table repeats the rows without the
    # "counted" columns, so only 8-number rows are the case total.
    assert found[: len(expected)] == expected
    assert expected[0] == ("A", [2, 2, 4, 0, 0, 0, 0, 0])


def test_html_is_self_contained_without_pictures(case: dict) -> None:
    html = (case["out"] / "report.html").read_text()
    lowered = html.lower()
    assert "<img" not in lowered and "data:" not in lowered and "src=" not in lowered
    assert "http://" not in lowered and "https://" not in lowered
    assert "Laptop, silver" in html and "pdq_max_distance" in html
    assert "review by reviewer1" in html
    assert "Users/alex/Pictures/phone/IMG_0002.jpg" in html  # unknown, listed for review


def test_csv_has_one_row_per_item_with_effective_grade(case: dict) -> None:
    rows = list(csv.DictReader(io.StringIO((case["out"] / "items.csv").read_text())))
    assert len(rows) == len(case["report"]["items"]) == 20
    by_path = {r["path"]: r for r in rows}
    img3 = by_path["Users/alex/Pictures/phone/IMG_0003.jpg"]
    assert (img3["grade"], img3["grade_source"], img3["hashset_grade"]) == ("A", "review", "C")
    assert img3["review_user"] == "reviewer1" and img3["representative"] == "True"
    member = by_path["Users/alex/Documents/backup.zip!old/scan-0001.jpg"]
    assert member["representative"] == "False" and member["in_archive"] == "True"
