//! `loop.getaddrinfo` and `loop.getnameinfo`: the C resolver, run on the loop's blocking pool
//! as asyncio runs it in the default executor (both calls block on DNS).
//!
//! The libc calls live in `sys_getaddrinfo` / `sys_getnameinfo`, the only unsafe code here;
//! every list `getaddrinfo` returns is freed by a guard, on every path.

use crate::error::TaskError;
use crate::runtime::{LoopHandle, ToThread};
use std::ffi::{CStr, CString};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The port of a [`LoopHandle::getaddrinfo`], as asyncio takes it: a number, a service name
/// looked up in the services database (`"http"` → 80, `"domain"` → 53), or none (Python's
/// `None`). Made from a `u16`, an `Option<u16>` or a string.
///
/// # Examples
/// ```
/// use asyncio::net::Service;
/// assert_eq!(Service::from(80), Service::Port(80));
/// assert_eq!(Service::from("http"), Service::Name("http".into()));
/// assert_eq!(Service::from(None), Service::Any);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Service {
    /// No port: the answers' ports are 0.
    Any,
    /// A port number.
    Port(u16),
    /// A service name, or a number as a string (`"8080"`).
    Name(String),
}

impl From<u16> for Service {
    fn from(port: u16) -> Self {
        Service::Port(port)
    }
}

impl From<Option<u16>> for Service {
    fn from(port: Option<u16>) -> Self {
        port.map_or(Service::Any, Service::Port)
    }
}

impl From<&str> for Service {
    fn from(name: &str) -> Self {
        Service::Name(name.to_owned())
    }
}

impl From<String> for Service {
    fn from(name: String) -> Self {
        Service::Name(name)
    }
}

/// One answer of [`LoopHandle::getaddrinfo`]: Python's `(family, type, proto, canonname,
/// sockaddr)` tuple, with the address as a [`SocketAddr`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrInfo {
    /// The address family: `libc::AF_INET` or `libc::AF_INET6`.
    pub family: i32,
    /// The socket type, e.g. `libc::SOCK_STREAM`.
    pub socktype: i32,
    /// The protocol, e.g. `libc::IPPROTO_TCP`.
    pub protocol: i32,
    /// The canonical name, set on the first answer when `AI_CANONNAME` was asked for.
    pub canonname: Option<String>,
    /// The address and port.
    pub addr: SocketAddr,
}

/// A resolver failure (Python's `socket.gaierror`): the `EAI_*` code and its text. It is
/// the inner error of the `io::Error` that [`LoopHandle::getaddrinfo`] and
/// [`LoopHandle::getnameinfo`] return.
///
/// # Examples
/// ```
/// # asyncio::run(async {
/// let err = asyncio::get_running_loop()
///     .getaddrinfo("no-such-host.invalid", 80)
///     .await
///     .unwrap_err();
/// let gai = err.get_ref().unwrap().downcast_ref::<asyncio::net::GaiError>().unwrap();
/// assert!(gai.code() != 0);
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GaiError {
    code: i32,
    message: String,
}

impl GaiError {
    /// The `EAI_*` code, e.g. `libc::EAI_NONAME` (Python's `gaierror.errno`).
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// # let err = asyncio::get_running_loop().getaddrinfo("a.invalid", 1).await.unwrap_err();
    /// let gai: &asyncio::net::GaiError = err.get_ref().unwrap().downcast_ref().unwrap();
    /// println!("code {}", gai.code());
    /// # });
    /// ```
    pub fn code(&self) -> i32 {
        self.code
    }
}

impl fmt::Display for GaiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[Errno {}] {}", self.code, self.message)
    }
}

impl std::error::Error for GaiError {}

fn gai_error(code: i32) -> io::Error {
    if code == libc::EAI_SYSTEM {
        // The pool thread that made the call reads its own errno right after it.
        return io::Error::last_os_error();
    }
    // SAFETY: gai_strerror returns a pointer to a static NUL-terminated string for any code.
    let message = unsafe { CStr::from_ptr(libc::gai_strerror(code)) }
        .to_string_lossy()
        .into_owned();
    let kind = match code {
        libc::EAI_NONAME => io::ErrorKind::NotFound,
        libc::EAI_BADFLAGS | libc::EAI_FAMILY | libc::EAI_SOCKTYPE | libc::EAI_SERVICE => {
            io::ErrorKind::InvalidInput
        }
        libc::EAI_MEMORY => io::ErrorKind::OutOfMemory,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, GaiError { code, message })
}

fn nul_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "host or service name contains a NUL byte",
    )
}

/// The options of [`LoopHandle::getaddrinfo`], as asyncio's keyword arguments; await it for
/// the answers.
///
/// # Cancel safety
/// Dropping it (or its future) loses nothing but the answer: the lookup already running on
/// the blocking pool finishes there.
#[derive(Clone, Debug)]
#[must_use = "the lookup starts when awaited"]
pub struct GetAddrInfo {
    handle: LoopHandle,
    host: Option<String>,
    port: Service,
    hints: [i32; 4],
}

impl GetAddrInfo {
    /// Only answers of this family (`libc::AF_INET`, `libc::AF_INET6`); 0 for any.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let v4 = lp.getaddrinfo("127.0.0.1", 80).family(libc::AF_INET).await?;
    /// assert!(v4.iter().all(|a| a.addr.is_ipv4()));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn family(mut self, family: i32) -> Self {
        self.hints[0] = family;
        self
    }

    /// Only answers of this socket type (`libc::SOCK_STREAM`, `libc::SOCK_DGRAM`); 0 for any.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let tcp = lp.getaddrinfo("127.0.0.1", 80).socktype(libc::SOCK_STREAM).await?;
    /// assert!(tcp.iter().all(|a| a.socktype == libc::SOCK_STREAM));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn socktype(mut self, socktype: i32) -> Self {
        self.hints[1] = socktype;
        self
    }

    /// Only answers of this protocol (`libc::IPPROTO_TCP`, …); 0 for any.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let tcp = lp.getaddrinfo("127.0.0.1", 80).proto(libc::IPPROTO_TCP).await?;
    /// assert!(tcp.iter().all(|a| a.protocol == libc::IPPROTO_TCP));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn proto(mut self, proto: i32) -> Self {
        self.hints[2] = proto;
        self
    }

    /// `AI_*` flags, or-ed: `libc::AI_NUMERICHOST`, `libc::AI_CANONNAME`, `libc::AI_PASSIVE`, …
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let any = lp.getaddrinfo(None, 8080).flags(libc::AI_PASSIVE).family(libc::AF_INET).await?;
    /// assert_eq!(any[0].addr, "0.0.0.0:8080".parse().unwrap());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn flags(mut self, flags: i32) -> Self {
        self.hints[3] = flags;
        self
    }
}

impl IntoFuture for GetAddrInfo {
    type Output = io::Result<Vec<AddrInfo>>;
    type IntoFuture = Lookup<Vec<AddrInfo>>;

    fn into_future(self) -> Lookup<Vec<AddrInfo>> {
        let GetAddrInfo {
            handle,
            host,
            port,
            hints,
        } = self;
        Lookup {
            job: handle.run_in_executor(move || sys_getaddrinfo(host, port, hints)),
        }
    }
}

/// A lookup running on the loop's blocking pool: the future of
/// [`LoopHandle::getaddrinfo`] and [`LoopHandle::getnameinfo`].
///
/// # Cancel safety
/// Dropping it loses the answer only; the C call cannot be stopped and ends on its thread.
#[must_use = "futures do nothing unless awaited"]
pub struct Lookup<T> {
    job: ToThread<io::Result<T>>,
}

impl<T: Send + 'static> Future for Lookup<T> {
    type Output = io::Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        Pin::new(&mut self.job)
            .poll(cx)
            .map(|outcome| match outcome {
                Ok(answer) => answer,
                Err(TaskError::Panicked(p)) => std::panic::resume_unwind(p.into_panic()),
                Err(e) => Err(io::Error::other(e.to_string())),
            })
    }
}

impl<T> fmt::Debug for Lookup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lookup").finish_non_exhaustive()
    }
}

impl LoopHandle {
    /// Resolves `host` and `port` on the loop's blocking pool (asyncio's
    /// `loop.getaddrinfo(host, port, family=0, type=0, proto=0, flags=0)`); the keyword
    /// arguments are the builder methods [`family`](GetAddrInfo::family),
    /// [`socktype`](GetAddrInfo::socktype), [`proto`](GetAddrInfo::proto) and
    /// [`flags`](GetAddrInfo::flags). `None` stands for Python's `None` in either place;
    /// the port may be a service name (`"http"`; see [`Service`]).
    ///
    /// # Errors
    /// An `io::Error` whose inner error is a [`GaiError`] (Python's `socket.gaierror`):
    /// `NotFound` for an unknown name, `InvalidInput` for bad hints, `Other` for the rest; the
    /// OS error itself for `EAI_SYSTEM`; `InvalidInput` for a host with a NUL byte.
    ///
    /// # Panics
    /// When awaited off the loop's own thread, as [`run_in_executor`](LoopHandle::run_in_executor).
    ///
    /// # Cancel safety
    /// See [`GetAddrInfo`]: dropping it loses the answer only.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let addrs = lp.getaddrinfo("localhost", 80).socktype(libc::SOCK_STREAM).await?;
    /// assert!(addrs.iter().all(|a| a.addr.ip().is_loopback()));
    /// let http = lp.getaddrinfo("127.0.0.1", "http").socktype(libc::SOCK_STREAM).await?;
    /// assert_eq!(http[0].addr.port(), 80);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn getaddrinfo<'a>(
        &self,
        host: impl Into<Option<&'a str>>,
        port: impl Into<Service>,
    ) -> GetAddrInfo {
        GetAddrInfo {
            handle: self.clone(),
            host: host.into().map(str::to_owned),
            port: port.into(),
            hints: [0; 4],
        }
    }

    /// The host and service names of `addr` (asyncio's `loop.getnameinfo(sockaddr, flags)`),
    /// looked up on the loop's blocking pool; `flags` are `NI_*` flags, or-ed.
    ///
    /// # Errors
    /// An `io::Error` carrying a [`GaiError`], as [`getaddrinfo`](LoopHandle::getaddrinfo).
    ///
    /// # Panics
    /// Off the loop's own thread, as [`run_in_executor`](LoopHandle::run_in_executor).
    ///
    /// # Cancel safety
    /// Dropping the [`Lookup`] loses the answer only.
    ///
    /// # Examples
    /// ```
    /// # asyncio::run(async {
    /// let lp = asyncio::get_running_loop();
    /// let flags = libc::NI_NUMERICHOST | libc::NI_NUMERICSERV;
    /// let (host, port) = lp.getnameinfo("127.0.0.1:8080".parse().unwrap(), flags).await?;
    /// assert_eq!((host.as_str(), port.as_str()), ("127.0.0.1", "8080"));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn getnameinfo(&self, addr: SocketAddr, flags: i32) -> Lookup<(String, String)> {
        Lookup {
            job: self.run_in_executor(move || sys_getnameinfo(addr, flags)),
        }
    }
}

/// Frees a `getaddrinfo` list when dropped.
struct AddrInfoList(*mut libc::addrinfo);

impl Drop for AddrInfoList {
    fn drop(&mut self) {
        // SAFETY: the pointer came from a successful getaddrinfo, and is freed once, here.
        unsafe { libc::freeaddrinfo(self.0) }
    }
}

fn sys_getaddrinfo(
    host: Option<String>,
    port: Service,
    [family, socktype, protocol, flags]: [i32; 4],
) -> io::Result<Vec<AddrInfo>> {
    let host = host
        .map(CString::new)
        .transpose()
        .map_err(|_| nul_error())?;
    let service = match port {
        Service::Any => None,
        Service::Port(p) => Some(p.to_string()),
        Service::Name(name) => Some(name),
    };
    let service = service
        .map(CString::new)
        .transpose()
        .map_err(|_| nul_error())?;
    // SAFETY: all-zero is a valid addrinfo (integers and null pointers).
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_protocol = protocol;
    hints.ai_flags = flags;
    let mut list: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: host and service are NUL-terminated strings or null, hints is initialised, and
    // `list` is a valid out-pointer; they outlive the call.
    let code = unsafe {
        libc::getaddrinfo(
            host.as_ref().map_or(std::ptr::null(), |h| h.as_ptr()),
            service.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            &hints,
            &mut list,
        )
    };
    if code != 0 {
        return Err(gai_error(code));
    }
    let list = AddrInfoList(list);
    let mut out = Vec::new();
    let mut next = list.0;
    while !next.is_null() {
        // SAFETY: `next` is a node of the list `list` owns, alive until `list` drops.
        let ai = unsafe { &*next };
        // SAFETY: ai_addr points to ai_addrlen bytes of a sockaddr of the node's family.
        if let Some(addr) = unsafe { to_socket_addr(ai.ai_addr, ai.ai_addrlen) } {
            let canonname = (!ai.ai_canonname.is_null()).then(|| {
                // SAFETY: a non-null ai_canonname is a NUL-terminated string in the list.
                unsafe { CStr::from_ptr(ai.ai_canonname) }
                    .to_string_lossy()
                    .into_owned()
            });
            out.push(AddrInfo {
                family: ai.ai_family,
                socktype: ai.ai_socktype,
                protocol: ai.ai_protocol,
                canonname,
                addr,
            });
        }
        next = ai.ai_next;
    }
    Ok(out)
}

/// The address in a C sockaddr, or `None` for a family that is not IP.
///
/// # Safety
/// `sa` must point to `len` readable bytes holding a sockaddr.
unsafe fn to_socket_addr(sa: *const libc::sockaddr, len: libc::socklen_t) -> Option<SocketAddr> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: the caller gives a readable sockaddr; sa_family is at its start.
    let family = i32::from(unsafe { (*sa).sa_family });
    match family {
        libc::AF_INET if len as usize >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: an AF_INET sockaddr of this length is a sockaddr_in; read unaligned, as
            // the C buffer promises no Rust alignment.
            let sin = unsafe { std::ptr::read_unaligned(sa.cast::<libc::sockaddr_in>()) };
            let ip = u32::from_be(sin.sin_addr.s_addr).into();
            Some(SocketAddrV4::new(ip, u16::from_be(sin.sin_port)).into())
        }
        libc::AF_INET6 if len as usize >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for AF_INET6 and sockaddr_in6.
            let sin6 = unsafe { std::ptr::read_unaligned(sa.cast::<libc::sockaddr_in6>()) };
            Some(
                SocketAddrV6::new(
                    sin6.sin6_addr.s6_addr.into(),
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )
                .into(),
            )
        }
        _ => None,
    }
}

fn sys_getnameinfo(addr: SocketAddr, flags: i32) -> io::Result<(String, String)> {
    let sock = socket2::SockAddr::from(addr);
    // NI_MAXHOST and NI_MAXSERV, which libc does not export on every target.
    let mut host = [0 as libc::c_char; 1025];
    let mut service = [0 as libc::c_char; 32];
    // SAFETY: `sock` holds a valid sockaddr of `sock.len()` bytes; both buffers are writable
    // for the lengths passed, and getnameinfo NUL-terminates what it writes.
    let code = unsafe {
        libc::getnameinfo(
            sock.as_ptr().cast(),
            sock.len(),
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            service.as_mut_ptr(),
            service.len() as libc::socklen_t,
            flags,
        )
    };
    if code != 0 {
        return Err(gai_error(code));
    }
    // SAFETY: on success both buffers hold NUL-terminated strings.
    let (host, service) = unsafe {
        (
            CStr::from_ptr(host.as_ptr()),
            CStr::from_ptr(service.as_ptr()),
        )
    };
    Ok((
        host.to_string_lossy().into_owned(),
        service.to_string_lossy().into_owned(),
    ))
}
