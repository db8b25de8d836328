"""Paper enrichment: summaries, takeaways and translations, by an LLM or offline.

prompt.py    what the model is asked (and reading such a request back), the output schema
llm.py       the only module that imports `openai`: chat completions and the Batch API
validate.py  the model's output parsed into a ModelOutput and checked
enricher.py  the Enricher interface and LLMEnricher, which ties the three together
offline.py   ExtractiveEnricher: the abstract's own key sentences, no model
"""

from worker.enrich.enricher import Enricher, LLMEnricher
from worker.enrich.llm import build_llm_client
from worker.enrich.offline import ExtractiveEnricher, split_sentences
from worker.enrich.prompt import PROMPT_VERSION, build_messages
from worker.enrich.validate import parse_llm_output

__all__ = [
    "PROMPT_VERSION",
    "Enricher",
    "ExtractiveEnricher",
    "LLMEnricher",
    "build_llm_client",
    "build_messages",
    "parse_llm_output",
    "split_sentences",
]
