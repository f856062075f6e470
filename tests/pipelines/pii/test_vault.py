"""Stable placeholders per conversation, restore policy per type and target."""

from __future__ import annotations

from pipelines.pii import (
    EntityType,
    Minimizer,
    RestorePolicy,
    RestoreScope,
    RestoreTarget,
    Vault,
    restore,
    seed_sender,
)


def test_one_value_one_placeholder_across_turns_and_layouts() -> None:
    minimizer, vault = Minimizer(), Vault()
    first = minimizer.minimize("call +91 98765 43210", vault)
    second = minimizer.minimize("or 098765-43210, or my office 020 2345 6789", vault)
    assert first.text == "call <PHONE_1>"
    assert second.text == "or <PHONE_1>, or my office <PHONE_2>"
    assert len(vault) == 2


def test_vaults_are_per_conversation() -> None:
    minimizer = Minimizer()
    a, b = Vault(), Vault()
    minimizer.minimize("me: 9876543210", a)
    assert minimizer.minimize("you: 9123456789", b).text == "you: <PHONE_1>"
    assert b.entry("<PHONE_1>") is not None
    assert b.entry("<PHONE_1>").value == "+919123456789"  # type: ignore[union-attr]


def test_restore_follows_policy_per_target() -> None:
    minimizer, vault = Minimizer(), Vault()
    minimizer.minimize("9876543210 and ABCPE1234F and priya@gmail.com", vault)
    policy = RestorePolicy({EntityType.PAN: RestoreScope.NEVER, EntityType.EMAIL: RestoreScope.TOOLS})
    reply = "Noted <PHONE_1>, <PAN_1> and <EMAIL_1>."
    assert restore(reply, vault, policy, RestoreTarget.REPLY) == "Noted 9876543210, [PAN] and [e-mail]."
    assert restore(reply, vault, policy, RestoreTarget.TOOL) == "Noted 9876543210, [PAN] and priya@gmail.com."


def test_invented_placeholder_never_reaches_the_person() -> None:
    vault = Vault()
    assert (
        restore("Call <PHONE_7> now", vault, RestorePolicy(), RestoreTarget.REPLY)
        == "Call [phone number] now"
    )


def test_vault_round_trips_as_data_and_keeps_counting() -> None:
    minimizer, vault = Minimizer(), Vault()
    minimizer.minimize("9876543210, priya@gmail.com", vault)
    copy = Vault.from_dict(vault.to_dict())
    assert minimizer.minimize("9876543210 and 9123456789", copy).text == "<PHONE_1> and <PHONE_2>"


def test_a_case_variant_only_ignorecase_knows_is_still_the_known_value() -> None:
    """ "ſ" (long s) matches "s" under IGNORECASE but lower() keeps it: once a KeyError that crashed the turn."""
    vault = Vault()
    seed_sender(vault, wa_id=None, profile_name="Suresh Kumar")
    assert Minimizer().minimize("hi ſuresh, SURESH here", vault).text == "hi <PERSON_1>, <PERSON_1> here"
