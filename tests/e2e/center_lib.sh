# center_lib.sh -- storage centers run by beemo-center for the tests.
#
# Source after lib.sh and sshd_lib.sh.  center_area NAME makes the area
# $T/area_NAME (data/, state/, area.conf) as `beemo-center add` does;
# center_start NAME [AREA] starts sshd NAME (sshd_lib.sh) whose
# authorized_keys forces `beemo-center serve --area AREA` on the test's
# client key, as the center's account setup does (beemo-center(8)).
# center_target_conf NAME prints the [target NAME] section for it (the
# area's data/ is the SFTP root "/").

BEEMO_CENTER=${BEEMO_CENTER:-$BEEMO_BUILD/sync/beemo-center}

# center_area NAME [QUOTA]: create the area of appliance NAME.
center_area() {
	local a="$T/area_$1"
	mkdir -p "$a/data" "$a/state"
	chmod 0700 "$a" "$a/state"
	printf '%s\n' "[area]" "name = $1" ${2:+"quota = $2"} >"$a/area.conf"
}

# center_start NAME [AREA]: sshd NAME serving AREA (default
# $T/area_NAME, created when missing) with beemo-center serve.
center_start() {
	local name=$1 area=${2:-$T/area_$1}
	[ -d "$area/data" ] || center_area "$name"
	sshd_start "$name"
	printf 'command="%s serve --area %s",restrict %s\n' \
		"$BEEMO_CENTER" "$area" "$(cat "$T/id_ed25519.pub")" \
		>"$T/sshd_$name/authorized_keys"
}

# center_target_conf NAME: the [target NAME] section for center NAME.
center_target_conf() {
	sshd_target_conf "$1" /
}

# center_sftp NAME [SFTP ARGS...]: OpenSSH's sftp client with the
# appliance's key against center NAME (batch commands on stdin).
center_sftp() {
	local name=$1
	shift
	sftp -q -o BatchMode=yes -o "UserKnownHostsFile=$T/known_hosts_$name" \
		-o StrictHostKeyChecking=yes -i "$T/id_ed25519" \
		-P "${SSHD_PORT[$name]}" "$@" "$(id -un)@127.0.0.1"
}
