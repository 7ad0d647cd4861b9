"""The dispatch table's handlers take the data model their event type parses to (the type checker matches
each Route's model to its handler; this matches the models to ``payloads.EVENT_DATA_MODELS``)."""

from integration.link import payloads
from integration.services.link_events import HANDLERS, Route


def test_every_event_type_has_a_route_whose_model_is_the_one_its_data_parses_to():
    assert set(HANDLERS) == set(payloads.EVENT_DATA_MODELS)
    for event_type, route in HANDLERS.items():
        assert isinstance(route, Route)
        assert route.model is payloads.EVENT_DATA_MODELS[event_type], event_type
