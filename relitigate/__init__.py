"""relitigate: quarterly re-litigation of production fine-tunes against the buy alternative.

This front-door package holds the CLI, settings and the provider simulator. The engines live in
``tasks`` (evaluation, decision core, notices), the decision registry in ``registry`` and the
Prefect flows in ``flows``.
"""

__version__ = "0.1.0"
