//! `ASYNCIO_DEBUG` in the environment turns debug mode on for every new loop, as
//! `PYTHONASYNCIODEBUG` does. Alone in its binary: it changes the process's environment, which
//! no other thread may read meanwhile.

use asyncio::{Runner, get_running_loop};

fn set_debug_env(value: Option<&str>) {
    // SAFETY: this binary's only test runs on one thread, and no loop is running while the
    // variable changes: nothing else reads the environment meanwhile.
    unsafe {
        match value {
            Some(v) => std::env::set_var(asyncio::DEBUG_ENV, v),
            None => std::env::remove_var(asyncio::DEBUG_ENV),
        }
    }
}

#[test]
fn asyncio_debug_in_the_environment_turns_debug_mode_on() {
    set_debug_env(Some("1"));
    assert!(Runner::new().run(async { get_running_loop().get_debug() }));
    let lp = asyncio::new_event_loop();
    assert!(lp.get_debug());
    lp.close().unwrap();
    assert!(
        !Runner::new()
            .debug(false)
            .run(async { get_running_loop().get_debug() })
    );
    set_debug_env(Some("0"));
    assert!(!Runner::new().run(async { get_running_loop().get_debug() }));
    set_debug_env(None);
    assert!(!Runner::new().run(async { get_running_loop().get_debug() }));
}
