"""The names and one-line descriptions of the built-in tasks, models and experiments.

``rnnlab list`` reads them here, without importing torch: the registries that build things
(:data:`rnnlab.tasks.TASKS`, :data:`rnnlab.models.config.MODELS`) import every task and layer.
``tests/test_catalog.py`` checks that these tables name the same entries with the same words as
those registries, so a new task or model that is missing here fails a test. The experiments
have no heavier registry: :data:`rnnlab.experiments.EXPERIMENTS` is this table. This module
imports nothing, so that any floor may read it.
"""

TASKS = {
    "temporal_xor": "Elman (1990) sim. 1: predict the next bit of a stream where every 3rd is XOR",
    "letters": "Elman (1990) sim. 2: predict the next letter of ba/dii/guuu syllable streams",
    "words": "Elman (1990) sim. 3: predict the next letter of unsegmented sentences",
    "lexical_classes": (
        "Elman (1990) sim. 4: predict the next word of 2-3-word sentences (29 words)"
    ),
    "adding": "Hochreiter & Schmidhuber (1997): add the two marked numbers of a long sequence",
    "latch": "Bengio et al. (1994): latch the class of the first input through noise",
    "two_sequence": "Hochreiter & Schmidhuber (1997): class of a noisy sequence from its start",
    "parity": "Bengio et al. (1994): is the number of +1s in a ±1 sequence odd?",
    "copy_memory": "Arjovsky et al. (2016): recall ten symbols after T blanks and a delimiter",
    "reber": "Hochreiter & Schmidhuber (1997): legal next symbols of embedded Reber strings",
    "names": "classify surnames by language from a directory of <Class>.txt (the tutorial)",
    "char_lm": "character language model of a text file (char-rnn), with generation",
    "translation": "translate sentence pairs (eng-fra.txt, or gettext messages) with seq2seq",
    "forecast": "forecast a time series (statsmodels' sunspots, co2, ... or a CSV) with backtests",
    "flipflop": (
        "Sussillo & Barak (2013) 3-bit flip-flop: hold the sign of each channel's last pulse"
    ),
    "perceptual_decision": (
        "Song et al. (2016): which of two noisy evidence streams is stronger (dots)"
    ),
    "context_decision": "Mante et al. (2013): report motion or colour of one stimulus, as cued",
    "working_memory": (
        "Romo et al. (1999): is the second frequency, after a delay, higher than the first?"
    ),
    "match_to_sample": "Miller et al. (1996), NeuroGym: after a delay, is the test the sample?",
    "spoken_digits": "isolated spoken digits from {digit}_{speaker}_{index}.wav (FSDD), by speaker",
    "digit_strings": "connected digits joined from {digit}_{speaker}_{index}.wav, CTC (FSDD)",
    "bold_responses": (
        "Güçlü & van Gerven (2017): voxel responses to features, simulated fMRI or .npz runs"
    ),
}

MODELS = {
    "elman": "Elman (1990) simple recurrent network: tanh, relu or sigmoid units",
    "jordan": "Jordan (1986) network: the context is the previous output",
    "gru": "gated recurrent unit (Cho et al. 2014), as torch.nn.GRU",
    "lstm": "long short-term memory (Hochreiter & Schmidhuber 1997), as torch.nn",
    "ctrnn": "continuous-time rate network (Song et al. 2016), with Dale's law",
    "mingru": "minimal GRU (Feng et al. 2024): gates of the input, parallel scan",
    "minlstm": "minimal LSTM (Feng et al. 2024): gates of the input, parallel scan",
}


EXPERIMENTS = {
    "elman1990": "Elman (1990) Finding Structure in Time: XOR, letters, words, classes, zog",
    "bengio1994": "Bengio et al. (1994) long-term dependencies: latch, gradient decay, guessing",
    "long-range": "Elman vs GRU vs LSTM on the adding problem and copy memory as T grows",
    "flipflop": "Sussillo & Barak (2013) 3-bit flip-flop: an attractor per memory, saddles between",
    "neuro-tasks": (
        "Song et al. (2016): Dale's-law CTRNNs on random dots and context-dependent integration"
    ),
    "munakata1997": "Munakata et al. (1997) object permanence: looking before reaching, the lag",
    "botvinick-plaut2004": (
        "Botvinick & Plaut (2004) coffee and tea in a kitchen: slips and ADS under context noise"
    ),
    "guclu2017": "Güçlü & van Gerven (2017): RNN vs HRF-ridge response models of simulated fMRI",
}


def catalog() -> dict[str, dict[str, str]]:
    """Section title (tasks, models, experiments) -> entry name -> one-line description."""
    return {"tasks": dict(TASKS), "models": dict(MODELS), "experiments": dict(EXPERIMENTS)}
