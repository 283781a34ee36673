"""The bridge to scikit-learn's callback protocol (scikit-learn >= 1.9).

A fit is one task with one subtask per epoch (sgd/adam) or per L-BFGS
iteration; ``CallbackSupportMixin`` gives the estimators ``set_callbacks``.
With an older scikit-learn the mixin is empty and fits run unchanged.
"""

import numpy as np

try:  # scikit-learn >= 1.9: the callback protocol (ProgressBar, ScoringMonitor, ...)
    from sklearn.callback import CallbackSupportMixin as _CallbackSupportMixin
except ImportError:  # pragma: no cover - older scikit-learn: no callbacks, fit unchanged

    class _CallbackSupportMixin:  # type: ignore[no-redef]
        pass


__all__ = ["_CallbackSupportMixin", "_Callbacks"]


class _Callbacks:
    """scikit-learn's callback protocol for one fit: a root task, one subtask per step.

    Created only when scikit-learn has callbacks (>= 1.9); the per-step
    subtasks are created only when callbacks are set, so a fit without
    callbacks pays for one root context and nothing per epoch.
    """

    def __init__(self, estimator, ctx, X, y, metadata):
        self.estimator = estimator
        self.ctx = ctx
        self.X, self.y, self.metadata = X, y, metadata
        self.active = bool(getattr(estimator, "_skl_callbacks", None))
        self.step_ctx = None

    @classmethod
    def begin(cls, estimator, X, y, sample_weight, max_subtasks):
        if not hasattr(estimator, "_init_callback_context"):
            return None
        ctx = estimator._init_callback_context(max_subtasks=max_subtasks)
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        ctx.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=metadata)
        return cls(estimator, ctx, X, y, metadata)

    def _attributes(self, flat):
        """coefs_/intercepts_ copies from a flat parameter vector (for ``fitted_estimator``)."""
        net = self.estimator._fitted_net  # the network being trained, read once
        units, layout = net.units, net.layout
        flat = np.asarray(flat, dtype=net.params.dtype)
        coefs = [
            flat[o : o + a * b].reshape(a, b).copy()
            for o, a, b in zip(layout.coef_off, units[:-1], units[1:])
        ]
        intercepts = [flat[o : o + b].copy() for o, b in zip(layout.icpt_off, units[1:])]
        return {"coefs_": coefs, "intercepts_": intercepts}

    def begin_step(self, name):
        if self.active:
            self.step_ctx = self.ctx.subcontext(task_name=name)
            self.step_ctx.call_on_fit_task_begin(
                estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata
            )

    def end_step(self, flat):
        """End the current subtask; True if a callback asks to stop. `flat` None: an empty task."""
        if not self.active or self.step_ctx is None:
            return False
        ctx, self.step_ctx = self.step_ctx, None
        if flat is None:
            return bool(ctx.call_on_fit_task_end(estimator=self.estimator))
        return bool(
            ctx.call_on_fit_task_end(
                estimator=self.estimator,
                X=self.X,
                y=self.y,
                metadata=self.metadata,
                reconstruction_attributes=lambda: self._attributes(flat),
            )
        )

    def end_fit(self):
        self.ctx.call_on_fit_task_end(
            estimator=self.estimator,
            X=self.X,
            y=self.y,
            metadata=self.metadata,
            reconstruction_attributes={},
        )
