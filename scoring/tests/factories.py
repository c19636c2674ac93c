"""Test data for scoring (factory_boy): lapse-risk scores; deterministic (never random).

A score made here is a row, as the nightly step's upsert (scoring.services.scores.lapse_risk_score)
leaves it, without a trained model, a feature snapshot nor explanations behind it:

    PolicyScoreFactory(policy=gz, score=Decimal("0.31000"), scored_on=AS_OF)
"""

import datetime as dt
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from policies.tests.factories import PolicyFactory
from scoring.models import PolicyScore


class PolicyScoreFactory(DjangoModelFactory):
    """A policy's latest score: 0.10000 (below the default plan's 0.30 lapse-risk call), by model
    version 1, no explanations, scored on 2026-11-25."""

    class Meta:
        model = PolicyScore

    policy = factory.SubFactory(PolicyFactory)
    score = Decimal("0.10000")
    model_version = 1
    explanations = factory.LazyFunction(list)
    scored_on = dt.date(2026, 11, 25)
