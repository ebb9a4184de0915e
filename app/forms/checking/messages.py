"""The codes the check engine reports. Their texts, in every language, live in the catalogues
of `app.i18n` (app/i18n/catalogues/*.yaml); a finding keeps only its params."""

from app.forms.checking.plausibility import PLAUSIBILITY_CODES
from app.forms.checking.rules import RULE_TEMPLATES
from app.forms.checking.structure import STRUCTURE_CODES

# Every catalogue key the engine renders through: its own codes and the frames of form rules.
ENGINE_KEYS = (*STRUCTURE_CODES, *PLAUSIBILITY_CODES, *RULE_TEMPLATES)

__all__ = ["ENGINE_KEYS", "PLAUSIBILITY_CODES", "RULE_TEMPLATES", "STRUCTURE_CODES"]
