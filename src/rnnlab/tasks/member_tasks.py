"""One task per member of an ensemble: N "subjects", each trained on its own data.

A replication over seeds draws each seed's data from that seed (the letter stream, the adding
problems, the corpus); trained as one :class:`rnnlab.models.ensemble.Ensemble`, member k
still sees exactly what the network of seed k sees alone: its own task's splits, in the batch
order of its own seed. ``MemberTasks(tasks, seeds)`` holds the N tasks (of one kind and size)
and the N batch-order seeds; :func:`rnnlab.train.fit` takes it in place of a task, and
:func:`rnnlab.train.validation.evaluate_split` evaluates member k on task k's split.
"""

from collections.abc import Sequence
from pathlib import Path

from rnnlab.tasks.base import Split, Task, checked_splits

# What every member's task must share: the trainer, the model and the loss read them.
_SHARED = ("name", "stream", "inputs", "targets", "loss", "input_size", "output_size")


class MemberTasks:
    """N tasks of one kind and size, one per member, and each member's batch-order seed.

    The attributes the trainer reads (``stream``, ``inputs``, ``targets``, ``loss``, the sizes,
    ``class_weights``) are the members' common ones; :meth:`splits` gives, per split name, the
    tuple of the members' splits.
    """

    def __init__(self, tasks: Sequence[Task], seeds: Sequence[int]) -> None:
        tasks, seeds = tuple(tasks), tuple(seeds)
        if not tasks:
            raise ValueError("MemberTasks needs one task per member; got none")
        if len(seeds) != len(tasks):
            raise ValueError(
                f"MemberTasks needs one seed per task; got {len(tasks)} tasks and "
                f"{len(seeds)} seeds"
            )
        for attribute in _SHARED:
            values = [getattr(task, attribute) for task in tasks]
            if any(value != values[0] for value in values):
                raise ValueError(f"the members' tasks must agree on {attribute}; got {values}")
        weights = [task.class_weights for task in tasks]
        if any((w is None) != (weights[0] is None) for w in weights) or (
            weights[0] is not None and any(not w.equal(weights[0]) for w in weights)
        ):
            raise ValueError("the members' tasks must have the same class weights")
        self.tasks, self.seeds = tasks, seeds
        first = tasks[0]
        for attribute in (*_SHARED, "autoregressive", "class_weights"):
            setattr(self, attribute, getattr(first, attribute))

    def __len__(self) -> int:
        return len(self.tasks)

    def splits(self) -> dict[str, tuple[Split, ...]]:
        """Per split name, the members' splits, each checked as :func:`checked_splits`
        checks one task's."""
        each = [checked_splits(task) for task in self.tasks]
        return {name: tuple(splits[name] for splits in each) for name in each[0]}

    def save(self, directory: Path) -> None:
        """Each member's artifacts in ``member<k>/`` of ``directory``."""
        for k, task in enumerate(self.tasks):
            path = Path(directory) / f"member{k}"
            path.mkdir(parents=True, exist_ok=True)
            task.save(path)
