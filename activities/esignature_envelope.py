"""EnvelopeWorkflow's activities. The rules live in services/esignature/process.py; each
step is one unit of work. The steps that change an envelope and email about it send inside
their transaction, under the envelope's row lock (see that module for why); the notices
that follow a final state (voided, the signed copies) read in one transaction and send
outside any. For an envelope at an outside provider (DocuSign, Dropbox Sign) the first
step sends it there, a void or the expiry voids it there, and the completion fetches the
provider's signed documents where the built-in provider seals its own
(services/esignature/provider_sync.py, sealing.py)."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.unit_of_work import firm_transaction
from core.config import Settings
from core.crypto import Cipher
from core.temporal import ClientProvider
from models import ProviderName
from providers.email import EmailProvider
from providers.http import HttpPool
from providers.storage import Storage
from services.esignature import envelope_emails, process, provider_sync, sealing
from workflows.esignature.envelope.contracts import (
    COMPLETE_ACTIVITY,
    COPIES_ACTIVITY,
    DECLINE_ACTIVITY,
    DELIVER_ACTIVITY,
    EXPIRE_ACTIVITY,
    PLAN_ACTIVITY,
    PROVIDER_SEND_ACTIVITY,
    REMIND_ACTIVITY,
    SEAL_ACTIVITY,
    VOID_ACTIVITY,
    WARN_ACTIVITY,
    EnvelopePlan,
    RemindInput,
    StepInput,
    StepOutcome,
)


class EnvelopeActivities:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        temporal: ClientProvider,
        *,
        settings: Settings,
        email: EmailProvider,
        storage: Storage,
        http: HttpPool,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._temporal = temporal
        self._settings = settings
        self._email = email
        self._storage = storage
        self._http = http
        self._cipher = Cipher.from_settings(settings)
        self._mailing = process.Mailing(settings=settings, email=email)

    @activity.defn(name=PLAN_ACTIVITY)
    async def plan(self, step: StepInput) -> EnvelopePlan:
        async with firm_transaction(self._sessionmaker, step.firm_id) as session:
            return await process.plan(session, step)

    @activity.defn(name=PROVIDER_SEND_ACTIVITY)
    async def send_to_provider(self, step: StepInput) -> StepOutcome:
        async with firm_transaction(self._sessionmaker, step.firm_id) as session:
            await provider_sync.send_to_provider(
                session,
                self._http,
                self._settings,
                step.firm_id,
                step.envelope_id,
                storage=self._storage,
            )
        return StepOutcome(done=True)

    async def _void_at_provider(self, step: StepInput, reason: str) -> None:
        async with firm_transaction(self._sessionmaker, step.firm_id) as session:
            await provider_sync.void_at_provider(
                session, self._http, step.firm_id, step.envelope_id, reason, cipher=self._cipher
            )

    @activity.defn(name=DELIVER_ACTIVITY)
    async def deliver(self, step: StepInput) -> StepOutcome:
        async with firm_transaction(self._sessionmaker, step.firm_id) as session:
            sent = await process.deliver(session, self._mailing, step)
        return StepOutcome(done=sent > 0, emails=sent)

    @activity.defn(name=REMIND_ACTIVITY)
    async def remind(self, step: RemindInput) -> StepOutcome:
        async with firm_transaction(self._sessionmaker, step.firm_id) as session:
            sent = await process.remind(session, self._mailing, step)
        return StepOutcome(done=sent > 0, emails=sent)

    @activity.defn(name=WARN_ACTIVITY)
    async def warn_expiry(self, step: StepInput) -> StepOutcome:
        async with firm_transaction(self._sessionmaker, step.firm_id) as session:
            sent = await process.warn_expiry(session, self._mailing, step)
        return StepOutcome(done=True, emails=sent)

    @activity.defn(name=EXPIRE_ACTIVITY)
    async def expire(self, step: StepInput) -> StepOutcome:
        # envelope.expired goes out right after the commit.
        async with firm_transaction(self._sessionmaker, step.firm_id, self._temporal) as session:
            expired = await process.expire(session, self._mailing, step)
            provider = (await process.envelope_of(session, step)).provider
        if provider != ProviderName.builtin:
            # Ours to decide; the provider's copy must stop taking signatures too.
            await self._void_at_provider(step, "The envelope expired")
        return StepOutcome(done=expired)

    @activity.defn(name=DECLINE_ACTIVITY)
    async def decline(self, step: StepInput) -> StepOutcome:
        async with firm_transaction(self._sessionmaker, step.firm_id, self._temporal) as session:
            return StepOutcome(done=await process.decline(session, self._mailing, step))

    @activity.defn(name=VOID_ACTIVITY)
    async def void(self, step: StepInput) -> StepOutcome:
        async with firm_transaction(self._sessionmaker, step.firm_id) as session:
            envelope, letters = await process.void_notices(session, step)
        if envelope.provider != ProviderName.builtin:
            await self._void_at_provider(step, envelope.void_reason or "Voided by the sender")
        sent = await envelope_emails.send(self._email, envelope.id, letters)
        return StepOutcome(done=True, emails=sent)

    @activity.defn(name=SEAL_ACTIVITY)
    async def seal(self, step: StepInput) -> StepOutcome:
        try:
            async with firm_transaction(self._sessionmaker, step.firm_id) as session:
                envelope = await process.envelope_of(session, step)
                if envelope.provider == ProviderName.builtin:
                    await sealing.seal_envelope(
                        session, self._storage, self._settings, step.firm_id, step.envelope_id
                    )
                else:
                    await provider_sync.store_provider_documents(
                        session,
                        self._http,
                        self._storage,
                        step.firm_id,
                        step.envelope_id,
                        cipher=self._cipher,
                    )
        except sealing.NotReadyToSeal:
            # Voided (or otherwise closed) since the plan: the completion will find it so.
            return StepOutcome(done=False)
        return StepOutcome(done=True)

    @activity.defn(name=COMPLETE_ACTIVITY)
    async def complete(self, step: StepInput) -> StepOutcome:
        # envelope.completed goes out right after the commit.
        async with firm_transaction(self._sessionmaker, step.firm_id, self._temporal) as session:
            return StepOutcome(done=await process.complete(session, step))

    @activity.defn(name=COPIES_ACTIVITY)
    async def send_copies(self, step: StepInput) -> StepOutcome:
        async with firm_transaction(self._sessionmaker, step.firm_id) as session:
            envelope, letters = await process.copies(session, self._storage, step)
        sent = await envelope_emails.send(self._email, envelope.id, letters)
        return StepOutcome(done=True, emails=sent)
