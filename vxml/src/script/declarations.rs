//! The names a `<script>` declares (`var` and top-level `function`), found by a light scan of its source so they
//! can be made variables of the scope the script runs in.

/// The `var` names and top-level `function` names a script declares (outside nested function bodies).
pub fn declared_names(src: &str) -> (Vec<String>, Vec<String>) {
    let b = src.as_bytes();
    let mut vars = Vec::new();
    let mut funcs = Vec::new();
    let mut i = 0;
    // Brace stack: true when the brace opened a function body.
    let mut braces: Vec<bool> = Vec::new();
    let mut pending_fn_body = false;
    let mut prev_sig: u8 = b';';
    let in_fn = |braces: &Vec<bool>| braces.iter().any(|f| *f);
    while i < b.len() {
        let c = b[i];
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            b'"' | b'\'' | b'`' => {
                i += 1;
                while i < b.len() && b[i] != c {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                prev_sig = b'a';
                continue;
            }
            b'/' if matches!(
                prev_sig,
                b'(' | b',' | b'=' | b':' | b'[' | b'!' | b'&' | b'|' | b'?' | b'{' | b'}' | b';'
            ) =>
            {
                // A regular expression literal.
                i += 1;
                let mut class = false;
                while i < b.len() && b[i] != b'\n' {
                    match b[i] {
                        b'\\' => i += 1,
                        b'[' => class = true,
                        b']' => class = false,
                        b'/' if !class => break,
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
                prev_sig = b'a';
                continue;
            }
            b'{' => {
                braces.push(pending_fn_body);
                pending_fn_body = false;
            }
            b'}' => {
                braces.pop();
            }
            _ if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$')
                {
                    i += 1;
                }
                let word = &src[start..i];
                let before_dot = start > 0 && b[start - 1] == b'.';
                if !before_dot && word == "function" {
                    // `function name(`: a declaration when it starts a statement.
                    let mut j = i;
                    while j < b.len() && b[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    let ns = j;
                    while j < b.len()
                        && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'$')
                    {
                        j += 1;
                    }
                    let statement_start = matches!(prev_sig, b';' | b'{' | b'}');
                    if j > ns && statement_start && !in_fn(&braces) && braces.is_empty() {
                        funcs.push(src[ns..j].to_string());
                    }
                    pending_fn_body = true;
                } else if !before_dot && word == "var" && !in_fn(&braces) {
                    // var a = ..., b, c = ...: names at nesting depth 0 of this declaration.
                    let mut j = i;
                    let mut expect_name = true;
                    let mut depth = 0i32;
                    while j < b.len() {
                        let d = b[j];
                        if expect_name && (d.is_ascii_alphabetic() || d == b'_' || d == b'$') {
                            let ns = j;
                            while j < b.len()
                                && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'$')
                            {
                                j += 1;
                            }
                            vars.push(src[ns..j].to_string());
                            expect_name = false;
                            continue;
                        }
                        match d {
                            b'(' | b'[' | b'{' => depth += 1,
                            b')' | b']' | b'}' => {
                                if depth == 0 {
                                    break;
                                }
                                depth -= 1
                            }
                            b',' if depth == 0 => expect_name = true,
                            b';' | b'\n' if depth == 0 && !expect_name => break,
                            b'"' | b'\'' => {
                                j += 1;
                                while j < b.len() && b[j] != d {
                                    if b[j] == b'\\' {
                                        j += 1;
                                    }
                                    j += 1;
                                }
                            }
                            _ if d.is_ascii_whitespace() => {}
                            _ if expect_name => break,
                            _ => {}
                        }
                        j += 1;
                    }
                    // Keep scanning from after `var` so nested functions in initialisers are tracked.
                }
                prev_sig = if word == "return" || word == "typeof" || word == "in" {
                    b'='
                } else {
                    b'a'
                };
                continue;
            }
            _ => {}
        }
        if !c.is_ascii_whitespace() {
            prev_sig = c;
        }
        i += 1;
    }
    vars.dedup();
    (vars, funcs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_names_skips_nested_functions_and_strings() {
        let (v, f) = declared_names(
            "var a=1; // var no\n function g(){ var x; } var s = 'var q', t = [1,2];",
        );
        assert_eq!(v, vec!["a", "s", "t"]);
        assert_eq!(f, vec!["g"]);
    }
}
