#!/bin/bash
# sync_recover_keys.sh -- recovery of an appliance's keys and settings
# from one center, without the store library: every key file comes back
# identical, the sealed configuration opens with the administrator's
# password only, appliance.key is rebuilt so that the old POSTE key file
# still works, and the administrator, the user and the POSTE key unlock
# the same SECRET as before.  Wrong password, non-empty directory and
# interruption are handled: the password is asked first and a wrong one
# writes nothing.  (Packs here are opaque bytes of a machine
# without keys; sync_recover.sh recovers a real store.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"

sshd_require
sshd_start a
sync_config a
echo "# MARKER-conf-2b77" >>"$BEEMO_CONFIG"
t_appliance
sync_fake_packs pc9 4 500000
sync_run push push || t_fail "push: $(cat "$T/push.err")"
kcv() { # STORE PRINCIPAL-OPTIONS...
	local s=$1
	shift
	"$BEEMOCTL" -s "$s" key unlock pc1 "$@" 2>>"$T/kcv.err"
}
kcv "$T/store" --admin --password-file "$T/admin.pw" >"$T/kcv_admin"
kcv "$T/store" --user alice --password-file "$T/alice.pw" >"$T/kcv_alice"
kcv "$T/store" --poste-key "$T/pc1.poste" >"$T/kcv_poste"
[ -s "$T/kcv_admin" ] || t_fail "no key check value from the original"

t_expect_log 'warning: manifest manifests/.* at center a is not authentic \(its admin.key does not open with this password\): ignored'
t_expect_log 'error: target a: the administrator password opens none of its admin.key files'
t_expect_log 'error: target a: no complete manifest found'
t_expect_log 'error: .*/busy is not empty; recovery writes only into an empty directory'
t_pw "$T/wrong.pw" not-the-password
N="$T/new"
sync_run wrong recover --target a --store "$N" --password-file "$T/wrong.pw" &&
	t_fail "recover with a wrong password succeeded"
[ -e "$N/.beemo-recovering" ] || t_fail "no marker after a failed recovery"
[ ! -e "$N/keys" ] || t_fail "key files written with a wrong password"

# Same directory again: accepted (the marker says it is ours).
sync_run rec recover --target a --store "$N" --password-file "$T/admin.pw" ||
	t_fail "recover: $(cat "$T/rec.err")"
grep -q "(resuming)" "$T/rec.out" || t_fail "did not resume: $(cat "$T/rec.out")"
[ ! -e "$N/.beemo-recovering" ] || t_fail "marker left after success"
for f in keys/admin.key keys/machines/pc1.key; do
	cmp -s "$T/store/$f" "$N/$f" || t_fail "$f differs"
done
for f in "$T"/store/machines/pc9/packs/*/*.pack "$T/store/machines/pc9/store.id"; do
	cmp -s "$f" "$N/${f#"$T/store/"}" || t_fail "${f#"$T/store/"} differs"
done
cmp -s "$BEEMO_CONFIG" "$N/beemo.conf.recovered" || t_fail "configuration differs"
[ "$(stat -c %a "$N/beemo.conf.recovered")" = 600 ] || t_fail "config mode"
[ "$(stat -c %a "$N/keys/appliance.key")" = 600 ] || t_fail "appliance.key mode"
kcv "$N" --admin --password-file "$T/admin.pw" | cmp -s - "$T/kcv_admin" ||
	t_fail "admin unlocks another SECRET"
kcv "$N" --user alice --password-file "$T/alice.pw" | cmp -s - "$T/kcv_alice" ||
	t_fail "alice unlocks another SECRET"
kcv "$N" --poste-key "$T/pc1.poste" | cmp -s - "$T/kcv_poste" ||
	t_fail "the POSTE key file no longer works"

# Only into an empty directory; --write-config never overwrites.
mkdir -p "$T/busy"
echo x >"$T/busy/file"
sync_run busy recover --target a --store "$T/busy" --password-file "$T/admin.pw" &&
	t_fail "recover into a non-empty directory succeeded"
sync_run conf recover --target a --store "$T/new2" --password-file "$T/admin.pw" \
	--write-config "$T/out.conf" || t_fail "recover --write-config"
cmp -s "$BEEMO_CONFIG" "$T/out.conf" || t_fail "--write-config content"
t_log "ok"
