"""Facts read from production at decision time: calls per day from a source
(:mod:`tasks.measured.volume`) and a sample of recent inputs run through the fine-tune
(:mod:`tasks.measured.sample`). The decision core receives only what was read."""
