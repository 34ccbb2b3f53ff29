//! A cheap upper bound on how deeply a TypeScript source nests, measured
//! before parsing, so that the recursive parser never runs out of stack.
//!
//! oxc's parser is recursive descent: each nested bracket takes stack, and
//! so does each link of some chains without brackets (`!!!x`, `a = b = c`,
//! `x => y => z`, `c ? a : c ? b : d`, `A<B<C>>`, `new new X`,
//! `if (a) if (b) …`, `else if` after `else if`). [`deepest`] scans the text
//! once, token by token without building anything, and counts both: one
//! level per open bracket (`(`, `[`, `{`, `${`), plus one per chain link
//! since the point where the parser must have unwound it (the end of the
//! expression: `,`, `;`, a new statement on a new line, or the closing
//! bracket). Chain links that cost nothing (`a + b + c`, `a.b.c`, `f()()`)
//! are not counted.
//!
//! The count is meant never to be lower than the parser's recursion, and may
//! be higher (a long `if … else if …` chain in one block, `<` used as
//! less-than). The scan guesses, as every tokenizer without a parser must,
//! whether a `/` starts a regular expression; a source crafted to fool that
//! guess could nest deeper than counted, but it would have to be written for
//! that purpose, and `sst.config.ts` is code the user runs anyway.

/// The deepest point of a source, as [`deepest`] measures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deepest {
    /// The nesting there (capped: the scan stops once it exceeds the limit).
    pub depth: usize,
    /// The byte offset of the token where it was first reached.
    pub offset: usize,
}

/// Measures the nesting of `source`, stopping at the first point deeper than `limit`.
pub fn deepest(source: &str, limit: usize) -> Deepest {
    let mut scan = Scan {
        src: source.as_bytes(),
        pos: 0,
        groups: vec![Group::new(Close::None)],
        depth: 0,
        deepest: Deepest {
            depth: 0,
            offset: 0,
        },
        limit,
        prev: Prev::Operator,
        newline: false,
        head_next: false,
    };
    scan.run();
    scan.deepest
}

/// What closes an open group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    /// The whole source.
    None,
    Paren,
    Bracket,
    Brace,
    /// `${` in a template literal, closed by `}`.
    Substitution,
}

/// One open bracket and the chain links counted inside it.
#[derive(Debug)]
struct Group {
    close: Close,
    /// The `(` after `if`, `for`, `while` or `with`: a statement follows its `)`.
    head: bool,
    /// Links that end with the expression (`!`, `=`, `=>`, `?`, `:`, `new`, …).
    expr: usize,
    /// Links that end with the statement (`<`, `if`, `for`, `while`, `with`).
    stmt: usize,
    /// Links that end with the group (`else`, `do`).
    sticky: usize,
}

impl Group {
    fn new(close: Close) -> Self {
        Group {
            close,
            head: false,
            expr: 0,
            stmt: 0,
            sticky: 0,
        }
    }

    /// What the group adds to the depth (the root group, never closed, adds one less).
    fn weight(&self) -> usize {
        1 + self.expr + self.stmt + self.sticky
    }
}

/// What the previous token was, as far as the next one cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prev {
    /// The end of an operand (a name, a literal, a closing bracket): a `/`
    /// after it divides, a `!` after it is TypeScript's non-null assertion.
    Operand,
    /// Anything else: an operand comes next.
    Operator,
}

/// Which counter a chain link goes to.
#[derive(Debug, Clone, Copy)]
enum Link {
    Expr,
    Stmt,
    Sticky,
}

/// Keywords that start a link of an expression chain.
const EXPR_WORDS: &[&[u8]] = &[
    b"typeof",
    b"void",
    b"delete",
    b"await",
    b"new",
    b"yield",
    b"keyof",
    b"unique",
    b"readonly",
    b"infer",
    b"class",
    b"extends",
    b"implements",
    b"abstract",
    b"asserts",
];
/// Keywords whose body is a statement: a link of a statement chain.
const STMT_WORDS: &[&[u8]] = &[b"if", b"for", b"while", b"with"];
/// Keywords whose chain ends only with the enclosing block.
const STICKY_WORDS: &[&[u8]] = &[b"else", b"do"];
/// Other keywords after which an operand comes.
const OPERATOR_WORDS: &[&[u8]] = &[
    b"return",
    b"throw",
    b"case",
    b"in",
    b"of",
    b"instanceof",
    b"as",
    b"satisfies",
    b"is",
    b"export",
    b"default",
    b"import",
    b"const",
    b"let",
    b"var",
];
/// Words that continue the expression before a line break (no automatic semicolon).
const CONTINUING_WORDS: &[&[u8]] = &[
    b"in",
    b"instanceof",
    b"as",
    b"satisfies",
    b"extends",
    b"implements",
    b"of",
    b"is",
    b"else",
];

struct Scan<'s> {
    src: &'s [u8],
    pos: usize,
    groups: Vec<Group>,
    /// The sum of every open group's weight.
    depth: usize,
    deepest: Deepest,
    limit: usize,
    prev: Prev,
    /// A line break since the previous token.
    newline: bool,
    /// The previous token was `if`, `for`, `while` or `with`.
    head_next: bool,
}

impl Scan<'_> {
    fn run(&mut self) {
        if self.src.starts_with(b"#!") {
            self.skip_line();
        }
        while self.pos < self.src.len() && self.deepest.depth <= self.limit {
            let start = self.pos;
            if !self.blank(start) {
                self.token(start);
            }
        }
    }

    /// Skips the white space, line break or comment at `start`, if there is
    /// one there (noting line breaks); false at a token.
    fn blank(&mut self, start: usize) -> bool {
        match self.src[start] {
            b'\n' => {
                self.newline = true;
                self.pos += 1;
            }
            b' ' | b'\t' | b'\r' | 0x0b | 0x0c => self.pos += 1,
            // U+2028 and U+2029 end lines too
            0xe2 if self.src[start..].starts_with(&[0xe2, 0x80])
                && matches!(self.src.get(start + 2), Some(0xa8 | 0xa9)) =>
            {
                self.newline = true;
                self.pos += 3;
            }
            b'/' if self.peek(1) == Some(b'/') => self.skip_line(),
            b'/' if self.peek(1) == Some(b'*') => self.skip_block_comment(),
            _ => return false,
        }
        true
    }

    /// Scans the token at `start`.
    fn token(&mut self, start: usize) {
        let byte = self.src[start];
        match byte {
            b'/' if self.prev == Prev::Operator => {
                self.skip_regex();
                self.ends_operand();
            }
            b'\'' | b'"' => {
                self.skip_string(byte);
                self.starts_operand();
            }
            b'`' => {
                // a template right after an operand is a tagged template, even on a new line
                self.pos += 1;
                self.template();
            }
            b'0'..=b'9' => {
                self.skip_word();
                self.starts_operand();
            }
            b'.' if self.peek(1).is_some_and(|b| b.is_ascii_digit()) => {
                self.pos += 1;
                self.skip_word();
                self.starts_operand();
            }
            b'.' | b'#' => self.member(start),
            b'(' => self.open_at(Close::Paren, start),
            b'[' => self.open_at(Close::Bracket, start),
            b'{' => self.open_at(Close::Brace, start),
            b')' | b']' | b'}' => {
                self.pos += 1;
                self.close(byte);
            }
            b',' => {
                self.pos += 1;
                self.end_expression();
                self.operator();
            }
            b';' => {
                self.pos += 1;
                self.end_statement();
                self.operator();
            }
            _ if is_word_byte(byte) => self.word(start),
            _ => self.punctuator(start),
        }
    }

    /// `.name`, `?.name` (from its `.`) and `#name`: a member name, never a
    /// keyword; or `...`, or a `.` or `#` alone.
    fn member(&mut self, start: usize) {
        self.pos += if self.src[start..].starts_with(b"...") {
            3
        } else {
            1
        };
        self.skip_spaces_on_line();
        if self.peek(0).is_some_and(is_word_byte) {
            self.skip_word();
            self.ends_operand();
        } else {
            self.operator();
        }
    }

    /// The opening bracket at `start`, one byte.
    fn open_at(&mut self, close: Close, start: usize) {
        self.pos += 1;
        self.open(close, start);
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.src.get(self.pos + ahead).copied()
    }

    /// A literal or a name: after an operand and a line break, it starts a
    /// new statement (automatic semicolon insertion).
    fn starts_operand(&mut self) {
        self.end_statement_at_line_break();
        self.ends_operand();
    }

    /// The previous token ended an operand.
    fn ends_operand(&mut self) {
        self.prev = Prev::Operand;
        self.newline = false;
        self.head_next = false;
    }

    /// The previous token was an operator: an operand comes next.
    fn operator(&mut self) {
        self.prev = Prev::Operator;
        self.newline = false;
        self.head_next = false;
    }

    /// Automatic semicolon insertion: a token that cannot continue the
    /// expression, after an operand and a line break, starts a new statement,
    /// so the expression and the statement before it are over.
    fn end_statement_at_line_break(&mut self) {
        if self.newline && self.prev == Prev::Operand {
            self.end_statement();
        }
    }

    fn end_expression(&mut self) {
        let group = self.groups.last_mut().expect("the root group stays open");
        self.depth -= group.expr;
        group.expr = 0;
    }

    fn end_statement(&mut self) {
        let group = self.groups.last_mut().expect("the root group stays open");
        self.depth -= group.expr + group.stmt;
        group.expr = 0;
        group.stmt = 0;
    }

    fn link(&mut self, link: Link, start: usize) {
        let group = self.groups.last_mut().expect("the root group stays open");
        match link {
            Link::Expr => group.expr += 1,
            Link::Stmt => group.stmt += 1,
            Link::Sticky => group.sticky += 1,
        }
        self.depth += 1;
        self.reached(start);
    }

    fn reached(&mut self, start: usize) {
        if self.depth > self.deepest.depth {
            self.deepest = Deepest {
                depth: self.depth,
                offset: start,
            };
        }
    }

    fn open(&mut self, close: Close, start: usize) {
        let mut group = Group::new(close);
        group.head = close == Close::Paren && self.head_next;
        self.groups.push(group);
        self.depth += 1;
        self.reached(start);
        self.operator();
    }

    fn close(&mut self, byte: u8) {
        let expected = match byte {
            b')' => Close::Paren,
            b']' => Close::Bracket,
            _ => Close::Brace,
        };
        let top = self.groups.last().expect("the root group stays open");
        let closes = top.close == expected || (byte == b'}' && top.close == Close::Substitution);
        if !closes {
            // a stray closer (or one the scan misread) closes nothing: counting high is safe
            self.ends_operand();
            return;
        }
        let group = self.groups.pop().expect("checked above");
        self.depth -= group.weight();
        if group.close == Close::Substitution {
            self.template();
        } else if group.head {
            // `if (…)`: a statement follows, even on the next line
            self.operator();
        } else {
            self.ends_operand();
        }
    }

    fn word(&mut self, start: usize) {
        let word_start = self.pos;
        self.skip_word();
        let word = &self.src[word_start..self.pos];
        if !CONTINUING_WORDS.contains(&word) {
            self.end_statement_at_line_break();
        }
        let head_next = self.head_next;
        if EXPR_WORDS.contains(&word) {
            self.link(Link::Expr, start);
            self.operator();
            // `for await (…)`
            self.head_next = head_next && word == b"await";
        } else if STMT_WORDS.contains(&word) {
            self.link(Link::Stmt, start);
            self.operator();
            self.head_next = true;
        } else if STICKY_WORDS.contains(&word) {
            self.link(Link::Sticky, start);
            self.operator();
        } else if OPERATOR_WORDS.contains(&word) {
            self.operator();
        } else {
            self.ends_operand();
        }
    }

    fn punctuator(&mut self, start: usize) {
        let rest = &self.src[start..];
        let prefix_position = self.prev == Prev::Operator;
        let after_newline = self.newline;
        // the longest punctuator first
        const ASSIGNMENTS: &[&[u8]] = &[
            b">>>=", b"**=", b"<<=", b">>=", b"&&=", b"||=", b"??=", b"+=", b"-=", b"*=", b"/=",
            b"%=", b"&=", b"|=", b"^=",
        ];
        if let Some(op) = ASSIGNMENTS.iter().find(|op| rest.starts_with(op)) {
            self.pos += op.len();
            if op.starts_with(b"<<") {
                self.link(Link::Stmt, start);
                self.link(Link::Stmt, start);
            }
            self.link(Link::Expr, start);
            self.operator();
            return;
        }
        let (len, link): (usize, Option<Link>) = match rest {
            [b'=', b'>', ..] => (2, Some(Link::Expr)),
            [b'=', b'=', b'=', ..] | [b'!', b'=', b'=', ..] => (3, None),
            [b'=', b'=', ..] | [b'!', b'=', ..] => (2, None),
            [b'=', ..] => (1, Some(Link::Expr)),
            [b'*', b'*', ..] => (2, Some(Link::Expr)),
            [b'?', b'?', ..] => (2, None),
            [b'?', b'.', d, ..] if !d.is_ascii_digit() => {
                // optional chaining: a member name (or a call, an index) follows
                self.pos += 1;
                return;
            }
            [b'?', ..] | [b':', ..] | [b'~', ..] => (1, Some(Link::Expr)),
            [b'<', b'<', ..] => {
                self.pos += 2;
                self.link(Link::Stmt, start);
                self.link(Link::Stmt, start);
                self.operator();
                return;
            }
            [b'<', b'=', ..] => (2, Some(Link::Stmt)),
            [b'<', ..] => (1, Some(Link::Stmt)),
            [b'>', b'=', ..] => (2, None),
            [b'!', ..] if prefix_position || after_newline => (1, Some(Link::Expr)),
            [b'!', ..] => {
                // `x!`: TypeScript's non-null assertion, the operand goes on
                self.pos += 1;
                return;
            }
            [b'+', b'+', ..] | [b'-', b'-', ..] => {
                if prefix_position || after_newline {
                    (2, Some(Link::Expr))
                } else {
                    // postfix: the operand goes on
                    self.pos += 2;
                    return;
                }
            }
            [b'+', ..] | [b'-', ..] if prefix_position => (1, Some(Link::Expr)),
            _ => (1, None),
        };
        self.pos += len;
        if let Some(link) = link {
            self.link(link, start);
        }
        self.operator();
    }

    /// Template text up to its end (then an operand) or up to `${` (then a group).
    fn template(&mut self) {
        while let Some(byte) = self.peek(0) {
            match byte {
                b'\\' => self.skip_escape(),
                b'`' => {
                    self.pos += 1;
                    self.ends_operand();
                    return;
                }
                b'$' if self.peek(1) == Some(b'{') => {
                    let start = self.pos;
                    self.pos += 2;
                    self.open(Close::Substitution, start);
                    return;
                }
                _ => self.pos += 1,
            }
        }
    }

    fn skip_line(&mut self) {
        while let Some(byte) = self.peek(0) {
            if byte == b'\n' {
                return;
            }
            self.pos += 1;
        }
    }

    fn skip_block_comment(&mut self) {
        self.pos += 2;
        while self.pos < self.src.len() {
            if self.src[self.pos..].starts_with(b"*/") {
                self.pos += 2;
                return;
            }
            if self.src[self.pos] == b'\n' {
                self.newline = true;
            }
            self.pos += 1;
        }
    }

    fn skip_spaces_on_line(&mut self) {
        while matches!(self.peek(0), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// A string literal; an unterminated one ends at the line break.
    fn skip_string(&mut self, quote: u8) {
        self.pos += 1;
        while let Some(byte) = self.peek(0) {
            match byte {
                b'\\' => self.skip_escape(),
                b'\n' => return,
                _ if byte == quote => {
                    self.pos += 1;
                    return;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// A regular expression literal and its flags; an unterminated one ends at the line break.
    fn skip_regex(&mut self) {
        self.pos += 1;
        let mut in_class = false;
        while let Some(byte) = self.peek(0) {
            match byte {
                b'\\' => self.skip_escape(),
                b'\n' => return,
                b'[' => {
                    in_class = true;
                    self.pos += 1;
                }
                b']' => {
                    in_class = false;
                    self.pos += 1;
                }
                b'/' if !in_class => {
                    self.pos += 1;
                    self.skip_word();
                    return;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// A backslash and the byte it escapes (if any).
    fn skip_escape(&mut self) {
        self.pos = (self.pos + 2).min(self.src.len());
    }

    /// Name and number characters (escapes and non-ASCII included).
    fn skip_word(&mut self) {
        while let Some(byte) = self.peek(0) {
            if byte == b'\\' {
                self.skip_escape();
            } else if is_word_byte(byte) {
                self.pos += 1;
            } else {
                return;
            }
        }
    }
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(source: &str) -> usize {
        deepest(source, usize::MAX).depth
    }

    #[test]
    fn brackets_count_one_level_each() {
        assert_eq!(depth(""), 0);
        assert_eq!(depth("x"), 0);
        assert_eq!(depth("f(a, [b, {c: 1}])"), 3 + 1);
        assert_eq!(depth(&format!("{}{}", "[".repeat(50), "]".repeat(50))), 50);
        assert_eq!(depth("a; (b); [c]; {d}"), 1);
        assert_eq!(depth("`${`${x}`}`"), 2);
    }

    #[test]
    fn brackets_in_strings_comments_and_regexes_do_not_count() {
        let source = r#"const a = "((([[[{{{", b = '\'(((', c = /[(]{2}\/(/g; // ((((
/* [[[[
(((( */ const t = `((( ${ "[[[" } \` (((`;"#;
        assert_eq!(depth(source), 2, "the `${{` group and the `=` link");
        assert_eq!(
            depth("a / (b) / c"),
            1,
            "division, not a regular expression"
        );
    }

    #[test]
    fn chains_that_recurse_count_one_level_a_link() {
        assert_eq!(depth(&format!("x = {}0", "!".repeat(40))), 41);
        assert_eq!(depth(&format!("x = {}0", "- ".repeat(40))), 41);
        assert_eq!(depth(&format!("{}0", "a = ".repeat(40))), 40);
        assert_eq!(depth(&format!("{}0", "x => ".repeat(40))), 40);
        assert_eq!(depth(&format!("{}0", "a ? b : ".repeat(40))), 80);
        assert_eq!(depth(&format!("{}X", "new ".repeat(40))), 40);
        assert_eq!(
            depth(&format!("let x: {}A{};", "A<".repeat(40), ">".repeat(40))),
            41
        );
        // and the `(` of the innermost `if`
        assert_eq!(depth(&format!("{}x;", "if (a) ".repeat(40))), 41);
        assert_eq!(depth(&format!("{}x;", "if (a)\n".repeat(40))), 41);
    }

    #[test]
    fn chains_that_loop_do_not_count() {
        assert_eq!(depth(&format!("x = 0{}", " + a".repeat(40))), 1);
        assert_eq!(depth(&format!("x = a{}", ".b".repeat(40))), 1);
        assert_eq!(depth(&format!("x = a{}", "!".repeat(40))), 1);
        assert_eq!(depth(&format!("x = a{}", "?.b".repeat(40))), 1);
        assert_eq!(depth(&format!("x = a{}", "++".repeat(2))), 1);
        assert_eq!(
            depth("a.if.new.typeof.else"),
            0,
            "member names are not keywords"
        );
    }

    #[test]
    fn expressions_and_statements_end() {
        let many = "const a = 1;\n".repeat(500);
        assert_eq!(depth(&many), 1, "`;`");
        let no_semicolons = "const a = !b\nlet c = d\n".repeat(500);
        assert_eq!(depth(&no_semicolons), 2, "a new statement on a new line");
        let object = format!("x({{ {} }})", "a: !b, ".repeat(500));
        assert_eq!(depth(&object), 2 + 2, "`,`");
        assert_eq!(
            depth(&format!("a = b\n{}", "= b\n".repeat(40))),
            41,
            "an operator on the next line continues the expression"
        );
        assert_eq!(depth(&format!("type T = A<{}>;", "A<B, ".repeat(40))), 41);
    }

    #[test]
    fn else_and_do_last_until_the_block_ends() {
        // each `else` stays counted, the `if` and its `(` until the `;`
        let chain = format!("if (a) x;{}", " else if (a) x;".repeat(40));
        assert_eq!(depth(&chain), 40 + 2);
        assert_eq!(depth(&format!("{{ {chain} }} x; {chain}")), 1 + 40 + 2);
        assert_eq!(depth(&format!("{}x;", "do ".repeat(40))), 40);
    }

    #[test]
    fn any_prefix_of_a_tricky_source_scans() {
        let source = "#!/usr/bin/env node\nconst a = 'x\\'y', b = `t${ {c: /[/(]\\//g} }\\`` /* \u{2028} */ \u{2028}\n\
            x!\n!y; a?.b ?? c?.[d]?.(e) ?. 5 : .5e-3; label: do x; while (a) \\u0061 a\\";
        for end in (0..=source.len()).filter(|&end| source.is_char_boundary(end)) {
            deepest(&source[..end], usize::MAX);
        }
        for stray in ["}", ")))", "]", "`${", "${}", "/", "'", "\\"] {
            deepest(stray, usize::MAX);
        }
    }

    #[test]
    fn token_soup_scans() {
        const TOKENS: &[&str] = &[
            "(", ")", "[", "]", "{", "}", "`", "${", "'", "\"", "/", "\\", "\n", ".", "...", "?.",
            "?", "!", "=", "=>", "<", ">", "<<=", "a", "if", "else", "do", "new", " ", "5", ".5",
            "#", "\u{2028}", "é", "*/", "/*", "//", ",", ";", ":",
        ];
        // a fixed linear congruential sequence: the same soups on every run
        let mut seed: u64 = 1;
        let mut next = |bound: usize| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % bound
        };
        for _ in 0..2000 {
            let length = next(40);
            let soup: String = (0..length).map(|_| TOKENS[next(TOKENS.len())]).collect();
            let at = deepest(&soup, usize::MAX);
            assert!(at.offset <= soup.len(), "{soup:?}");
        }
    }

    #[test]
    fn stops_past_the_limit_and_says_where() {
        let source = format!("x = {}0{}", "[".repeat(10_000), "]".repeat(10_000));
        let at = deepest(&source, 100);
        assert_eq!(at.depth, 101);
        assert_eq!(at.offset, "x = ".len() + 99, "the 100th `[`");
    }
}
