"""Pure grading rules for safety (clinical-rules.md sections 6 and 6b): CRS and ICANS by ASTCT
2019 (Lee 2019), B-cell aplasia and reconstitution after the infusion, and the
prednisolone-equivalent glucocorticoid dose.

These modules import only the standard library, never Django (an import-linter contract checks
it), so the forms, services and reports can all call them and the tests need no database.
"""
