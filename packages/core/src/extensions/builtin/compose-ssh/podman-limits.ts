import type { Profile } from '../../../declarations/profile-schema.js';
import { UnsupportedError } from '../../../errors.js';
import type { SshSession } from '../../../ssh/session.js';
import type { ComposeRuntime } from './commands.js';

/**
 * What Podman cannot do for a profile, found before anything is made rather than half-way through a
 * job: rootless Podman on a cgroup v1 host cannot pause containers ("can not pause containers on
 * rootless containers with cgroup V1"), so a profile whose snapshots hold services still by pausing
 * them would fail at its first snapshot. Asked of the host only then (one round trip).
 */
export async function checkPodmanCanServe(
  session: SshSession,
  runtime: ComposeRuntime,
  profile: Profile | undefined,
  where: string,
): Promise<void> {
  if (runtime.engine !== 'podman' || profile?.snapshot?.consistency !== 'pause') return;
  const answer = await session.run(
    'printf "%s %s\\n" "$(id -u)" "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)"',
    {
      what: 'asking how Podman runs containers',
    },
  );
  const [uid, cgroupFs] = answer.trim().split(' ');
  if (uid !== '0' && cgroupFs !== 'cgroup2fs') {
    throw new UnsupportedError(
      `profile ${profile.id} snapshots with consistency: pause, which rootless Podman on ${where} cannot do (a cgroup v1 host cannot pause rootless containers); nothing was created. Use consistency: stop in the profile's snapshot options, log in as root, or use a cgroup v2 host`,
      { host: where, field: 'snapshot.consistency' },
    );
  }
}
