//! `#[asyncio::main]` and `#[asyncio::test]`: an `async fn` run as the main task of a loop.
//!
//! Written on `proc_macro` alone: the attribute only drops the `async` keyword and wraps the
//! body, so it needs no parser.

use proc_macro::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};

/// Runs an `async fn main` with [`asyncio::run`](../asyncio/fn.run.html).
///
/// (Tested through the `asyncio` crate, which re-exports it.)
///
/// ```ignore
/// #[asyncio::main]
/// async fn main() {
///     asyncio::sleep(0.001).await;
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    if let Some(err) = reject_args(&args, "main") {
        return err;
    }
    rewrite(item, "::asyncio::run(async move ", ")", false)
}

/// Runs an `async fn` test on a fresh loop; `#[asyncio::test(virtual_time)]` runs it on the
/// virtual clock, so sleeps take no real time and times are exact.
///
/// (Tested through the `asyncio` crate, which re-exports it.)
///
/// ```ignore
/// #[asyncio::test(virtual_time)]
/// async fn one_hour_in_no_time() {
///     asyncio::sleep(3600.0).await;
///     assert_eq!(asyncio::get_running_loop().time(), 3600.0);
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut virtual_time = false;
    let mut debug = false;
    for tt in args {
        match tt {
            TokenTree::Ident(id) if id.to_string() == "virtual_time" => virtual_time = true,
            TokenTree::Ident(id) if id.to_string() == "debug" => debug = true,
            TokenTree::Punct(p) if p.as_char() == ',' => {}
            other => {
                return compile_error(
                    other.span(),
                    "#[asyncio::test] takes `virtual_time` and `debug`",
                )
            }
        }
    }
    let prefix = format!(
        "::asyncio::Runner::new().virtual_time({virtual_time}).debug({debug}).run(async move "
    );
    rewrite(item, &prefix, ")", true)
}

fn reject_args(args: &TokenStream, name: &str) -> Option<TokenStream> {
    let first = args.clone().into_iter().next()?;
    Some(compile_error(
        first.span(),
        &format!("#[asyncio::{name}] takes no arguments"),
    ))
}

/// Drops `async` from the function's signature and wraps its body in `prefix { body } suffix`.
fn rewrite(item: TokenStream, prefix: &str, suffix: &str, add_test_attr: bool) -> TokenStream {
    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    let Some(TokenTree::Group(body)) = tokens.pop() else {
        return compile_error(Span::call_site(), "expected an `async fn` with a body");
    };
    if body.delimiter() != Delimiter::Brace {
        return compile_error(body.span(), "expected an `async fn` with a body");
    }
    let async_at = tokens
        .iter()
        .position(|t| matches!(t, TokenTree::Ident(id) if id.to_string() == "async"));
    let Some(async_at) = async_at else {
        return compile_error(Span::call_site(), "the function must be `async fn`");
    };
    tokens.remove(async_at);
    let wrapped: TokenStream = format!("{prefix}{{}}{suffix}")
        .parse()
        .expect("valid tokens");
    // Put the user's body (with its spans) where the empty braces are.
    let wrapped: TokenStream = wrapped
        .into_iter()
        .map(|tt| fill_empty_braces(tt, &body))
        .collect();
    let mut out = TokenStream::new();
    if add_test_attr {
        out.extend(
            "#[::core::prelude::v1::test]"
                .parse::<TokenStream>()
                .expect("valid tokens"),
        );
    }
    out.extend(tokens);
    out.extend([TokenTree::Group(Group::new(Delimiter::Brace, wrapped))]);
    out
}

fn fill_empty_braces(tt: TokenTree, body: &Group) -> TokenTree {
    match tt {
        TokenTree::Group(g) if g.delimiter() == Delimiter::Brace && g.stream().is_empty() => {
            TokenTree::Group(body.clone())
        }
        TokenTree::Group(g) => {
            let inner: TokenStream = g
                .stream()
                .into_iter()
                .map(|t| fill_empty_braces(t, body))
                .collect();
            let mut group = Group::new(g.delimiter(), inner);
            group.set_span(g.span());
            TokenTree::Group(group)
        }
        other => other,
    }
}

fn compile_error(span: Span, msg: &str) -> TokenStream {
    let mut ts: TokenStream = format!("::core::compile_error!({msg:?});")
        .parse()
        .expect("valid tokens");
    ts = ts
        .into_iter()
        .map(|mut t| {
            t.set_span(span);
            t
        })
        .collect();
    let _ = Ident::new("unused", span);
    ts
}
