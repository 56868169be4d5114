"""Models: the [model] configs and their one factory, the readout network, encoder-decoders,
attention, decoding, sampling and the one ensemble."""
