"""What a kernel's hand-written backward cannot give, computed through the reference unroll.

A kernel's backward pass (:mod:`rnnlab.kernels.elman`, ``gru``, ``jordan``, ``lstm``) is written
by hand: fast, but made of in-place buffer arithmetic that autograd cannot differentiate again.
Two requests need more than it gives:

- a graph of the gradient (``create_graph=True``: gradient penalties, Hessian-vector products,
  ``gradgradcheck``); autograd then runs the backward with grad mode on;
- a gradient arriving through an output the hand-written backward does not differentiate (the
  gates, cells or hidden activations that ``record`` returns).

For those a kernel hands over to :func:`reference_gradients`: the layer gives every kernel call
its reference, the same direction of the same layer as a function of the kernel's tensor
inputs, built from the cells' step functions (torch operations all the way). Differentiating
it, with a graph when one was asked for, gives the exact gradient of the same function to every
order autograd offers. It costs one more forward pass and autograd's backward, and only when
asked; a plain ``loss.backward()`` never comes here.

A kernel called without a reference (directly, not through a layer) raises instead of
returning a gradient without a graph: a silent constant is never acceptable.
"""

import torch


def needs_reference(ctx, extra_grads: tuple) -> bool:
    """True where the hand-written backward cannot serve this call (see the module docstring).

    ``extra_grads`` are the gradients of the outputs it does not differentiate (None where
    unused; the kernels set ``set_materialize_grads(False)``).
    """
    if not torch.is_grad_enabled() and all(g is None for g in extra_grads):
        return False
    if ctx.reference is None:
        raise RuntimeError(
            f"{ctx.name}: a gradient with a graph (create_graph=True) or through the gates/cells "
            "needs the layer's reference unroll, and this kernel was called without one; call it "
            "through an rnnlab layer, or pass reference="
        )
    return True


def reference_gradients(ctx, grads: tuple) -> tuple:
    """The gradients of ``ctx.reference(*inputs)`` against ``grads``, one per kernel argument.

    ``inputs`` are the tensors the kernel was called with (its first ``ctx.num_inputs``
    arguments, saved last in ``ctx.saved_tensors``); the result has a graph exactly when grad
    mode is on, that is when autograd was asked for one.
    """
    inputs = ctx.saved_tensors[-ctx.num_inputs :]
    needs = ctx.needs_input_grad
    create_graph = torch.is_grad_enabled()
    wanted = [i for i, tensor in enumerate(inputs) if tensor is not None and needs[i]]
    with torch.enable_grad():
        outputs = ctx.reference(*inputs)
        pairs = [(o, g) for o, g in zip(outputs, grads) if g is not None and o.requires_grad]
        found = [None] * len(wanted)
        if pairs and wanted:
            found = torch.autograd.grad(
                [o for o, _ in pairs],
                [inputs[i] for i in wanted],
                [g for _, g in pairs],
                create_graph=create_graph,
                allow_unused=True,
            )
    result = [None] * len(needs)
    for i, gradient in zip(wanted, found):
        result[i] = gradient
    return tuple(result)


def keep(ctx, name: str, reference, inputs: tuple) -> tuple:
    """Remember what :func:`reference_gradients` needs; returns ``inputs`` to save last."""
    ctx.name = name
    ctx.reference = reference
    ctx.num_inputs = len(inputs)
    return inputs
