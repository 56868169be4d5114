"""Analysis of recurrent networks: errors by position, likelihood vectors, clustering.

:mod:`rnnlab.analysis.folding`
    Errors folded by phase of a cycle (Elman 1990, Figs. 3-5).
:mod:`rnnlab.analysis.likelihood`
    Empirical likelihood vectors of next words, cosine similarity.
:mod:`rnnlab.analysis.clustering`
    Average-linkage clustering, cuts, ARI, nearest neighbours, token 1-NN.
:mod:`rnnlab.analysis.pca`
    Principal components of hidden-state trajectories.
:mod:`rnnlab.analysis.gradient_flow`
    Gradient flow through time: ‖∂h_T/∂h_t‖, ‖∂L/∂h_t‖, one-step Jacobians and their spectra,
    exponential fits (Bengio et al. 1994; Pascanu et al. 2013).
:mod:`rnnlab.analysis.fixed_points`
    Fixed points of a layer's or cell's map under constant input, by FixedPointFinder's
    optimisation, with exact Jacobians, eigenvalues and stability (Sussillo & Barak 2013;
    Golub & Sussillo 2018); their figures in principal components.
:mod:`rnnlab.analysis.bleu`
    BLEU of translations: corpus BLEU with several references (sacrebleu) and d2l's BLEU-k.
"""
