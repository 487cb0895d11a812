"""The CRM side: the one adapter that talks to amoCRM (``sheetledger.crm.amocrm``)."""

from sheetledger.crm.amocrm import AmbiguousWriteError, AmoClient, AmoValidationError

__all__ = ["AmbiguousWriteError", "AmoClient", "AmoValidationError"]
