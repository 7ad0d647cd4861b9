"""Read a Prometheus exposition into {(sample name, ((label, value), ...)): value}."""

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scraped: dict, name: str, **labels) -> float:
    """A sample's value; 0 when it is absent (a counter not touched yet)."""
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def total(scraped: dict, name: str, **labels) -> float:
    """The sum over every sample of ``name`` whose labels include ``labels``."""
    return sum(v for (n, lbls), v in scraped.items() if n == name and set(labels.items()) <= set(lbls))


def moved(before: dict, after: dict, name: str, **labels) -> float:
    """How much the samples of ``name`` with ``labels`` grew between two scrapes."""
    return total(after, name, **labels) - total(before, name, **labels)
