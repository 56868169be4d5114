"""Every built-in task by name: its config class and its task class. An explicit table."""

from rnnlab.tasks.adding import Adding, AddingConfig
from rnnlab.tasks.base import Task
from rnnlab.tasks.bold_responses import BoldResponsesConfig, BoldResponsesTask
from rnnlab.tasks.char_lm import CharLM, CharLMConfig
from rnnlab.tasks.context_decision import ContextDecision, ContextDecisionConfig
from rnnlab.tasks.copy_memory import CopyMemory, CopyMemoryConfig
from rnnlab.tasks.digit_strings import DigitStrings, DigitStringsConfig
from rnnlab.tasks.flipflop import FlipFlop, FlipFlopConfig
from rnnlab.tasks.forecasting import ForecastConfig, Forecasting
from rnnlab.tasks.latch import Latch, LatchConfig
from rnnlab.tasks.letter_sequences import Letters, LettersConfig
from rnnlab.tasks.lexical_classes import LexicalClasses, LexicalClassesConfig
from rnnlab.tasks.match_to_sample import MatchToSample, MatchToSampleConfig
from rnnlab.tasks.names import Names, NamesConfig
from rnnlab.tasks.parity import Parity, ParityConfig
from rnnlab.tasks.perceptual_decision import PerceptualDecision, PerceptualDecisionConfig
from rnnlab.tasks.reber import Reber, ReberConfig
from rnnlab.tasks.spoken_digits import SpokenDigits, SpokenDigitsConfig
from rnnlab.tasks.temporal_xor import TemporalXOR, TemporalXORConfig
from rnnlab.tasks.translation import Translation, TranslationConfig
from rnnlab.tasks.two_sequence import TwoSequence, TwoSequenceConfig
from rnnlab.tasks.words import Words, WordsConfig
from rnnlab.tasks.working_memory import WorkingMemory, WorkingMemoryConfig

TASKS: dict[str, tuple[type, type[Task]]] = {
    "temporal_xor": (TemporalXORConfig, TemporalXOR),
    "letters": (LettersConfig, Letters),
    "words": (WordsConfig, Words),
    "lexical_classes": (LexicalClassesConfig, LexicalClasses),
    "adding": (AddingConfig, Adding),
    "latch": (LatchConfig, Latch),
    "two_sequence": (TwoSequenceConfig, TwoSequence),
    "parity": (ParityConfig, Parity),
    "copy_memory": (CopyMemoryConfig, CopyMemory),
    "reber": (ReberConfig, Reber),
    "names": (NamesConfig, Names),
    "char_lm": (CharLMConfig, CharLM),
    "translation": (TranslationConfig, Translation),
    "forecast": (ForecastConfig, Forecasting),
    "flipflop": (FlipFlopConfig, FlipFlop),
    "perceptual_decision": (PerceptualDecisionConfig, PerceptualDecision),
    "context_decision": (ContextDecisionConfig, ContextDecision),
    "working_memory": (WorkingMemoryConfig, WorkingMemory),
    "match_to_sample": (MatchToSampleConfig, MatchToSample),
    "spoken_digits": (SpokenDigitsConfig, SpokenDigits),
    "digit_strings": (DigitStringsConfig, DigitStrings),
    "bold_responses": (BoldResponsesConfig, BoldResponsesTask),
}

TaskConfig = (
    TemporalXORConfig
    | LettersConfig
    | WordsConfig
    | LexicalClassesConfig
    | AddingConfig
    | LatchConfig
    | TwoSequenceConfig
    | ParityConfig
    | CopyMemoryConfig
    | ReberConfig
    | NamesConfig
    | CharLMConfig
    | TranslationConfig
    | ForecastConfig
    | FlipFlopConfig
    | PerceptualDecisionConfig
    | ContextDecisionConfig
    | WorkingMemoryConfig
    | MatchToSampleConfig
    | SpokenDigitsConfig
    | DigitStringsConfig
    | BoldResponsesConfig
)


def build_task(config: TaskConfig) -> Task:
    """The task a ``[task]`` config describes."""
    return TASKS[config.name][1](config)
