"""The CTCAE v5.0 terms an adverse event is recorded with, by system organ class (SOC).

The list holds the terms expected after lymphodepletion and CD19 CAR-T cells in children with
lupus (cytopenias, infections, infusion reactions, laboratory abnormalities, organ toxicities),
with CTCAE's own spelling, and each SOC's "Other, specify" term for an event the list lacks.
Cytokine release syndrome and ICANS are graded by the ASTCT rules as episodes, not here: the
list holds no term for them, and ``astct_syndrome`` finds them named in a term or a description
so that they are refused with a message saying where they are recorded. Pure: no Django import.
"""

from __future__ import annotations

import re
from types import MappingProxyType

#: CTCAE v5.0 terms by system organ class, in CTCAE's order of SOCs.
CTCAE_TERMS_BY_SOC: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "Blood and lymphatic system disorders": (
            "Anemia",
            "Disseminated intravascular coagulation",
            "Febrile neutropenia",
            "Hemolysis",
            "Blood and lymphatic system disorders - Other, specify",
        ),
        "Cardiac disorders": (
            "Heart failure",
            "Left ventricular systolic dysfunction",
            "Pericardial effusion",
            "Sinus tachycardia",
            "Supraventricular tachycardia",
            "Cardiac disorders - Other, specify",
        ),
        "Gastrointestinal disorders": (
            "Abdominal pain",
            "Constipation",
            "Diarrhea",
            "Mucositis oral",
            "Nausea",
            "Vomiting",
            "Gastrointestinal disorders - Other, specify",
        ),
        "General disorders and administration site conditions": (
            "Chills",
            "Edema limbs",
            "Fatigue",
            "Fever",
            "Infusion related reaction",
            "Malaise",
            "General disorders and administration site conditions - Other, specify",
        ),
        "Hepatobiliary disorders": (
            "Hepatic failure",
            "Hepatobiliary disorders - Other, specify",
        ),
        "Immune system disorders": (
            "Allergic reaction",
            "Anaphylaxis",
            "Immune system disorders - Other, specify",
        ),
        "Infections and infestations": (
            "Bronchial infection",
            "Catheter related infection",
            "Device related infection",
            "Enterocolitis infectious",
            "Herpes simplex reactivation",
            "Lung infection",
            "Otitis media",
            "Sepsis",
            "Shingles",
            "Sinusitis",
            "Skin infection",
            "Upper respiratory infection",
            "Urinary tract infection",
            "Infections and infestations - Other, specify",
        ),
        "Injury, poisoning and procedural complications": (
            "Injury, poisoning and procedural complications - Other, specify",
        ),
        "Investigations": (
            "Activated partial thromboplastin time prolonged",
            "Alanine aminotransferase increased",
            "Alkaline phosphatase increased",
            "Aspartate aminotransferase increased",
            "Blood bilirubin increased",
            "CD4 lymphocytes decreased",
            "Creatinine increased",
            "Fibrinogen decreased",
            "GGT increased",
            "INR increased",
            "Lymphocyte count decreased",
            "Neutrophil count decreased",
            "Platelet count decreased",
            "Weight loss",
            "White blood cell decreased",
            "Investigations - Other, specify",
        ),
        "Metabolism and nutrition disorders": (
            "Anorexia",
            "Hyperglycemia",
            "Hyperkalemia",
            "Hypoalbuminemia",
            "Hypocalcemia",
            "Hypokalemia",
            "Hypomagnesemia",
            "Hyponatremia",
            "Hypophosphatemia",
            "Tumor lysis syndrome",
            "Metabolism and nutrition disorders - Other, specify",
        ),
        "Musculoskeletal and connective tissue disorders": (
            "Arthralgia",
            "Back pain",
            "Myalgia",
            "Pain in extremity",
            "Musculoskeletal and connective tissue disorders - Other, specify",
        ),
        "Nervous system disorders": (
            "Dizziness",
            "Dysgeusia",
            "Headache",
            "Peripheral sensory neuropathy",
            "Seizure",
            "Tremor",
            "Nervous system disorders - Other, specify",
        ),
        "Psychiatric disorders": (
            "Agitation",
            "Anxiety",
            "Insomnia",
            "Psychiatric disorders - Other, specify",
        ),
        "Renal and urinary disorders": (
            "Acute kidney injury",
            "Hematuria",
            "Proteinuria",
            "Renal and urinary disorders - Other, specify",
        ),
        "Respiratory, thoracic and mediastinal disorders": (
            "Cough",
            "Dyspnea",
            "Hypoxia",
            "Pleural effusion",
            "Pneumonitis",
            "Respiratory, thoracic and mediastinal disorders - Other, specify",
        ),
        "Skin and subcutaneous tissue disorders": (
            "Alopecia",
            "Pruritus",
            "Rash maculo-papular",
            "Urticaria",
            "Skin and subcutaneous tissue disorders - Other, specify",
        ),
        "Vascular disorders": (
            "Capillary leak syndrome",
            "Hypertension",
            "Hypotension",
            "Thromboembolic event",
            "Vascular disorders - Other, specify",
        ),
    }
)

#: Every term, and the SOC it belongs to.
CTCAE_SOC_OF_TERM: MappingProxyType[str, str] = MappingProxyType(
    {term: soc for soc, terms in CTCAE_TERMS_BY_SOC.items() for term in terms}
)

#: The suffix of each SOC's term for an event the list lacks; such a term needs its description.
OTHER_SPECIFY_SUFFIX = " - Other, specify"


#: The listed terms by their case-folded spelling, to find the term someone meant.
_TERMS_BY_FOLDED: MappingProxyType[str, str] = MappingProxyType(
    {term.casefold(): term for term in CTCAE_SOC_OF_TERM}
)

#: What names CRS or ICANS in a term or in the description of an "Other, specify" term: they are
#: recorded as episodes graded by ASTCT 2019, never as adverse events graded by CTCAE.
CRS_WORDS = re.compile(r"cytokine[ -]release|\bCRS\b", re.IGNORECASE)
ICANS_WORDS = re.compile(
    r"\bICANS\b|immune[ -]effector[ -]cell|effector[ -]cell[ -]associated", re.IGNORECASE
)


def is_ctcae_term(term: str) -> bool:
    """Say whether ``term`` is one of the listed CTCAE v5.0 terms, spelt exactly."""
    return term in CTCAE_SOC_OF_TERM


def needs_specification(term: str) -> bool:
    """Say whether the term is a SOC's "Other, specify" term, which needs a description."""
    return term.endswith(OTHER_SPECIFY_SUFFIX)


def listed_spelling(text: str) -> str | None:
    """Return the listed term that ``text`` names whatever its letter case and spacing (None
    when it names none)."""
    return _TERMS_BY_FOLDED.get(" ".join(text.split()).casefold())


def astct_syndrome(text: str) -> str | None:
    """Return "CRS" or "ICANS" when ``text`` (a term or a description) names that syndrome,
    None otherwise."""
    if CRS_WORDS.search(text):
        return "CRS"
    if ICANS_WORDS.search(text):
        return "ICANS"
    return None
