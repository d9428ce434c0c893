"""The course around the lab book: what each notebook must achieve, and how it is graded.

    report.py         Report: what a notebook leaves behind (figures, runs, facts, claims, metrics.json)
    claims.py         interpretations stated with the predicate that makes them true of the run
    requirements.py   each notebook's requirements: what is measured, threshold, rubric points, kind
    facts.py          what a notebook records for them (runs, histories, sets, pair sets, values)
    profiles.py       full / quick / smoke parameter sets, injected with papermill
    identify.py       which lab notebook a file is (its metadata, else its name)
    grade.py          `python -m labkit grade`: execute in isolation, evaluate from the files, score
    audit.py          are committed results complete, passing and fresh
    student.py        `python -m labkit student`: the student edition (solutions stripped, outputs cleared)
    commands.py       `python -m labkit run` / `test`: make run and make test without make (Windows)
    selfcheck/        the exercises' self-check cells
"""

from .report import Report, RequirementsFailed

__all__ = ["Report", "RequirementsFailed"]
