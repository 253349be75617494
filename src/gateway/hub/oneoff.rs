//! The task of one client session of a `session` server: its own one-off
//! instance, still through a [`Mux`] so that 2026-07-28 clients (which send
//! no `initialize`) get the server initialized for them.
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

use tokio::sync::mpsc;

use super::{Internal, Stats, lock, log, spawn_io};
use crate::gateway::mux::{Action, Mux, SessionId};
use crate::gateway::{GatewayServer, Launcher, Message, SessionInstance};

/// The task of one client session on its own one-off instance.
pub(super) struct OneOff {
    pub(super) def: GatewayServer,
    pub(super) launcher: Arc<dyn Launcher>,
    pub(super) stats: Arc<Mutex<Stats>>,
}

/// The one session of a one-off instance's mux.
const ONLY: SessionId = 1;

impl OneOff {
    pub(super) async fn run(
        self,
        instance: SessionInstance,
        mut from_client: mpsc::Receiver<Message>,
        to_client: mpsc::Sender<Message>,
    ) {
        let (internal, mut events) = mpsc::unbounded_channel();
        let writer = spawn_io(instance.stdio, 1, self.def.name.clone(), internal);
        let mut mux = Mux::new(&self.def.name, None);
        let mut pending = mux.on_attached(&instance.id);
        loop {
            for action in pending.drain(..) {
                match action {
                    Action::ToServer(msg) => {
                        let _ = writer.send(msg);
                    }
                    Action::ToSession(_, msg) => {
                        // The client is gone when this fails; its end follows.
                        let _ = to_client.send(msg).await;
                    }
                }
            }
            tokio::select! {
                msg = from_client.recv() => match msg {
                    Some(msg) => pending = mux.on_client(ONLY, msg),
                    None => break,
                },
                Some(event) = events.recv() => match event {
                    Internal::Line(_, msg) => pending = mux.on_server(msg),
                    Internal::Eof(_) => {
                        for action in mux.on_server_gone() {
                            if let Action::ToSession(_, msg) = action {
                                let _ = to_client.send(msg).await;
                            }
                        }
                        break;
                    }
                    Internal::Attached(_) | Internal::Stopped => {}
                },
            }
        }
        drop(writer);
        drop(to_client);
        if let Err(err) = self.launcher.end_session(&instance.id).await {
            log(
                &self.def.name,
                &format!("cannot remove {}: {err}", instance.id),
            );
        }
        let mut stats = lock(&self.stats);
        stats.sessions = stats.sessions.saturating_sub(1);
        stats.instances = stats.instances.saturating_sub(1);
        if stats.sessions == 0 {
            stats.idle_since = Some(Instant::now());
        }
    }
}
