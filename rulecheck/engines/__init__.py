"""Engines: the only code that computes (group metrics, model outputs, attributions, losses).

Each module here is imported on demand; ``rulecheck.engines.attribution`` is the only importer of
shap and imports it lazily, so that fairness audits and ``rulecheck validate`` never load it.
"""
