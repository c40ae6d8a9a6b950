"""Exactly once under SIGKILL: a sender killed at random moments loses nothing, repeats no
letter, and repeats an email only with its Message-ID (the full 5,000-notice run with the
figures is ``benchmarks/bench_notify.py --crash``)."""

import notify_crash


def test_sender_killed_twenty_times_loses_nothing_and_repeats_no_letter(tmp_path, monkeypatch):
    monkeypatch.setenv("ARIANE_KEY_DIR", str(tmp_path / "keys"))
    result = notify_crash.run(tmp_path, emails=300, letters=300, kills=20, seed=11,
                              letter_batch=25, window=(0.2, 1.5))  # fmt: skip
    assert result.kills == 20
    assert result.emails_lost == 0 and result.letters_lost == 0
    assert result.letters_twice == 0
    # An email can come twice only if the server accepted it just before a kill: at most
    # one per kill (one message in flight at a time), and always with the same Message-ID.
    assert result.emails_twice <= result.kills
    assert result.other_message_id == 0
    assert result.emails_received == 300 + result.emails_twice
