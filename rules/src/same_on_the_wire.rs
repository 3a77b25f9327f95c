//! Events that go on the wire as the room keeps them: the same name and the same fields.

/// Converts `$event`, a reference to a value of the event enum `$from`, into the wire event:
/// each variant listed becomes the wire event of the same name with its fields cloned, and the
/// arms after the list convert the variants that differ. Each field is listed once: a field the
/// wire event lacks, or one of its fields left out, does not compile, and the match stays
/// exhaustive.
macro_rules! same_on_the_wire {
    (
        $event:expr, $from:ident {
            $($variant:ident $({ $($field:ident),* $(,)? })?),* $(,)?
        }
        $($differs:tt)*
    ) => {
        match $event {
            $(
                $from::$variant $({ $($field),* })? => {
                    ::roundtable_protocol::Event::$variant $({
                        $($field: ::core::clone::Clone::clone($field)),*
                    })?
                }
            )*
            $($differs)*
        }
    };
}

pub(crate) use same_on_the_wire;
