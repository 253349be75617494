//! Who listens on a TCP port, for the gateway's "port taken" error. Linux
//! only (from `/proc`); elsewhere, or for another user's process, unknown.
use std::path::Path;

/// `process 1234 (python3)`, when it can be told.
pub fn owner(port: u16) -> Option<String> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            inodes.extend(listening_inodes(&text, port));
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|link| wanted.iter().any(|w| Path::new(w) == link))
        });
        if holds {
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            return Some(match comm.trim() {
                "" => format!("process {pid}"),
                comm => format!("process {pid} ({comm})"),
            });
        }
    }
    None
}

/// The socket inodes listening on `port` in a `/proc/net/tcp{,6}` table:
/// `sl local_address rem_address st … inode`, addresses as `HEXIP:HEXPORT`,
/// state `0A` = LISTEN.
pub fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let (_, hex_port) = local.rsplit_once(':')?;
            let listening = *fields.get(3)? == "0A";
            let inode = fields.get(9)?.parse::<u64>().ok()?;
            (listening && u16::from_str_radix(hex_port, 16).ok()? == port && inode != 0)
                .then_some(inode)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:A0E2 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 55501 1 0000000000000000 100 0 0 10 0
   1: 0100007F:A0E2 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 55502 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0
";

    #[test]
    fn finds_the_listening_socket_of_a_port() {
        assert_eq!(
            listening_inodes(TABLE, 0xA0E2),
            [55501],
            "not the connection"
        );
        assert_eq!(listening_inodes(TABLE, 22), [1234]);
        assert_eq!(listening_inodes(TABLE, 80), Vec::<u64>::new());
        assert_eq!(
            listening_inodes("garbage\nmore garbage", 22),
            Vec::<u64>::new()
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn names_this_process_for_a_port_it_holds() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let owner = owner(port).expect("our own socket is readable");
        assert!(
            owner.starts_with(&format!("process {} (", std::process::id())),
            "{owner}"
        );
    }
}
