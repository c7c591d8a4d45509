"""The Employer Skills Survey's 13 sector groups: the slugs interviews use, in ESS's order,
with ESS's names.

One list for the whole program: the built-in interview's sector question offers these groups
(with friendlier labels), staff's roster import reads their names and common spellings, and
staff's `/list` and the analysts' reports show them by these names in this order, so that a
figure can be set beside the national survey's.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

ESS_SECTORS: Mapping[str, str] = MappingProxyType(
    {
        "primary_utilities": "Primary Sector and Utilities",
        "manufacturing": "Manufacturing",
        "construction": "Construction",
        "wholesale_retail": "Wholesale and Retail",
        "hotels_restaurants": "Hotels and Restaurants",
        "transport_storage": "Transport and Storage",
        "information_communications": "Information and Communications",
        "financial_services": "Financial Services",
        "business_services": "Business Services",
        "public_administration": "Public Administration",
        "education": "Education",
        "health_social_work": "Health and Social Work",
        "arts_other_services": "Arts and Other Services",
    }
)
"""Slug -> ESS name, in the survey's order."""
