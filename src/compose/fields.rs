//! Facts about compose service fields: which exist (from the Compose
//! Specification) and the order mcpm writes them in.

/// Every service field the Compose Specification defines, sorted.
pub const SERVICE_FIELDS: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "label_file",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "provider",
    "pull_policy",
    "pull_refresh_after",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
];

/// The order fields are written in; anything else follows, alphabetically.
/// What runs comes first, then its inputs, its isolation, its limits, its lifecycle.
const WRITE_ORDER: &[&str] = &[
    "image",
    "build",
    "platform",
    "entrypoint",
    "command",
    "working_dir",
    "user",
    "environment",
    "env_file",
    "volumes",
    "tmpfs",
    "ports",
    "networks",
    "network_mode",
    "stdin_open",
    "tty",
    "init",
    "read_only",
    "cap_drop",
    "cap_add",
    "security_opt",
    "privileged",
    "mem_limit",
    "cpus",
    "pids_limit",
    "restart",
    "profiles",
    "depends_on",
    "healthcheck",
    "labels",
];

/// Whether `name` is a compose service field (or an `x-` extension).
pub fn is_service_field(name: &str) -> bool {
    name.starts_with("x-") || SERVICE_FIELDS.binary_search(&name).is_ok()
}

/// The sort key that puts service fields in mcpm's write order.
pub fn write_rank(name: &str) -> (usize, &str) {
    let rank = WRITE_ORDER
        .iter()
        .position(|known| *known == name)
        .unwrap_or(WRITE_ORDER.len());
    (rank, name)
}

/// The known field closest to a misspelt one, for "did you mean" hints.
pub fn closest_field(name: &str) -> Option<&'static str> {
    SERVICE_FIELDS
        .iter()
        .map(|field| (edit_distance(name, field), *field))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, field)| field)
}

/// Levenshtein distance; the inputs are short field names.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_sorted_for_binary_search() {
        assert!(SERVICE_FIELDS.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn misspelt_fields_find_their_match() {
        assert_eq!(closest_field("imag"), Some("image"));
        assert_eq!(closest_field("read-only"), Some("read_only"));
        assert_eq!(closest_field("completely_unrelated"), None);
    }

    #[test]
    fn write_order_puts_image_first_and_unknown_last() {
        assert!(write_rank("image") < write_rank("labels"));
        assert!(write_rank("labels") < write_rank("annotations"));
    }
}
