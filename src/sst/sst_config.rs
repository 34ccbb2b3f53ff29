//! Statically reads the app `name` and `home` from an SST `sst.config.ts`, using the oxc TypeScript parser.
//!
//! Nothing is evaluated: the module finds the `$config({...})` call (normally `export default`),
//! its `app` function, and the object literal that function returns, then reports each property
//! as a [`StaticValue`].
//!
//! The parser is recursive, so a deeply nested source could overflow the stack and kill the
//! process: a source nesting deeper than [`MAX_NESTING`] (as [`crate::sst::nesting`] counts) is
//! refused before parsing, and anything shallower is parsed on a thread of its own whose stack
//! holds that depth in debug and release builds, whichever thread calls [`read_app_config`].

use std::fmt;

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    Argument, ArrowFunctionExpression, Declaration, Expression, Function, ObjectExpression,
    ObjectPropertyKind, Program, Statement,
};
use oxc_parser::Parser;
use oxc_span::SourceType;

use crate::sst::nesting;

/// The deepest nesting [`read_app_config`] parses (brackets plus links of operator chains, as
/// [`nesting::deepest`] counts them). Real configs stay far below it (a few dozen levels).
pub const MAX_NESTING: usize = 1000;

/// The stack of the parsing thread: 16 KiB a level of [`MAX_NESTING`] and 4 MiB for the rest.
/// Of some sixty kinds of nesting measured, the costliest level takes about 5.7 KiB in a debug
/// build (`function () { return function () { … } }`) and about half that optimised. Only the
/// pages used are ever committed.
const PARSE_STACK_SIZE: usize = 4 * 1024 * 1024 + MAX_NESTING * 16 * 1024;

/// What could be read statically from `sst.config.ts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    /// `Some(name)` when `name` is a string literal or an expression-free template literal.
    ///
    /// That is, [`StaticValue::Literal`] in that case; [`StaticValue::Dynamic`] when it is any
    /// other expression, when the `return` statements of `app` disagree on it, or when `app`
    /// returns no object literal at all; [`StaticValue::Absent`] when the returned object
    /// has no `name` property.
    pub name: StaticValue,
    /// The `home` property (`"aws"`, `"cloudflare"`, `"local"`, ...), read by the same rules as `name`.
    pub home: StaticValue,
}

/// The static value of one property of the object returned by `app`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaticValue {
    /// A literal string value.
    Literal(String),
    /// The property is present but is not a literal (a variable, a call, a conditional, ...).
    Dynamic,
    /// The property is absent.
    Absent,
}

/// Why `sst.config.ts` could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigParseError {
    /// The source has TypeScript syntax errors (message: first error, with line:column).
    ///
    /// The message reads `"LINE:COLUMN: text"` (both 1-based, the column counted in
    /// characters), or just `"text"` when the parser gave no position.
    Syntax(String),
    /// No `$config({...})` call with an `app` function was found.
    NoAppFunction,
    /// The source nests deeper than [`MAX_NESTING`]; it was not parsed.
    TooDeep {
        /// 1-based line where the nesting first goes past the limit.
        line: usize,
        /// 1-based character column there.
        column: usize,
    },
    /// The parsing thread could not be started (the message says why).
    Thread(String),
}

impl fmt::Display for ConfigParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax(message) if starts_with_position(message) => {
                write!(f, "sst.config.ts has a syntax error at {message}")
            }
            Self::Syntax(message) => write!(f, "sst.config.ts has a syntax error: {message}"),
            Self::NoAppFunction => {
                f.write_str("no `app()` function found in the `$config({...})` call")
            }
            Self::TooDeep { line, column } => write!(
                f,
                "sst.config.ts nests deeper than {MAX_NESTING} levels at {line}:{column} (counting brackets and chains such as `!!x`, `a = b = c`), too deep to parse safely"
            ),
            Self::Thread(message) => {
                write!(f, "cannot start a thread to parse sst.config.ts: {message}")
            }
        }
    }
}

impl std::error::Error for ConfigParseError {}

/// Parses `source` (the text of sst.config.ts) and reads the object returned by `app(...)`.
///
/// The parse runs on a thread of its own with a stack large enough for [`MAX_NESTING`], so it is
/// safe from any thread (Node's main thread, a tokio blocking thread).
///
/// # Errors
///
/// [`ConfigParseError::TooDeep`] when the source nests deeper than [`MAX_NESTING`] (checked
/// before parsing), [`ConfigParseError::Syntax`] when the source does not parse as a TypeScript
/// module, [`ConfigParseError::NoAppFunction`] when no `$config({...})` call with an `app`
/// function (method, arrow, function expression, or a reference to a top-level one) is found,
/// and [`ConfigParseError::Thread`] when the parsing thread cannot be started.
pub fn read_app_config(source: &str) -> Result<AppConfig, ConfigParseError> {
    let deepest = nesting::deepest(source, MAX_NESTING);
    if deepest.depth > MAX_NESTING {
        let (line, column) = line_column(source, deepest.offset);
        return Err(ConfigParseError::TooDeep { line, column });
    }
    std::thread::scope(|scope| {
        let parser = std::thread::Builder::new()
            .name("sst-config-parser".to_owned())
            .stack_size(PARSE_STACK_SIZE)
            .spawn_scoped(scope, || parse_app_config(source))
            .map_err(|e| ConfigParseError::Thread(e.to_string()))?;
        parser
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// [`read_app_config`] on the calling thread's stack.
fn parse_app_config(source: &str) -> Result<AppConfig, ConfigParseError> {
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, SourceType::ts().with_module(true)).parse();
    if let Some(error) = parsed.diagnostics.errors().next() {
        let label = error
            .labels
            .iter()
            .find(|label| label.primary())
            .or_else(|| error.labels.first());
        let message = match label {
            Some(label) => {
                let (line, column) = line_column(source, label.offset() as usize);
                format!("{line}:{column}: {}", error.message)
            }
            None => error.message.to_string(),
        };
        return Err(ConfigParseError::Syntax(message));
    }
    if parsed.panicked {
        return Err(ConfigParseError::Syntax(
            "the parser stopped early".to_owned(),
        ));
    }

    let program = &parsed.program;
    let app = find_app_function(program).ok_or(ConfigParseError::NoAppFunction)?;
    let mut returned = Vec::new();
    match app {
        AppFunction::Function(function) => {
            if let Some(body) = &function.body {
                collect_returned_objects(&body.statements, &mut returned);
            }
        }
        AppFunction::Arrow(arrow) => match arrow.get_expression() {
            Some(expression) => {
                if let Expression::ObjectExpression(object) = expression.get_inner_expression() {
                    returned.push(&**object);
                }
            }
            None => {
                if let Some(body) = arrow.get_function_body() {
                    collect_returned_objects(&body.statements, &mut returned);
                }
            }
        },
    }

    Ok(AppConfig {
        name: agreed_value(&returned, "name"),
        home: agreed_value(&returned, "home"),
    })
}

/// The `app` function, found in the `$config` argument.
#[derive(Clone, Copy)]
enum AppFunction<'s, 'a> {
    Function(&'s Function<'a>),
    Arrow(&'s ArrowFunctionExpression<'a>),
}

/// Finds `app` in the `$config({...})` call: first the one that `export default` names (directly
/// or through a top-level variable), then any other `$config(...)` at the top level.
fn find_app_function<'s, 'a>(program: &'s Program<'a>) -> Option<AppFunction<'s, 'a>> {
    let mut candidates: Vec<&'s Expression<'a>> = Vec::new();
    for statement in &program.body {
        let Statement::ExportDefaultDeclaration(export) = statement else {
            continue;
        };
        let Some(expression) = export.declaration.as_expression() else {
            continue;
        };
        candidates.push(expression);
        if let Expression::Identifier(ident) = expression.get_inner_expression() {
            candidates.extend(top_level_initializer(program, ident.name.as_str()));
        }
    }
    for statement in &program.body {
        match statement {
            Statement::ExpressionStatement(statement) => candidates.push(&statement.expression),
            Statement::TSExportAssignment(export) => candidates.push(&export.expression),
            statement => {
                if let Some(Declaration::VariableDeclaration(declaration)) =
                    top_level_declaration(statement)
                {
                    candidates.extend(
                        declaration
                            .declarations
                            .iter()
                            .filter_map(|d| d.init.as_ref()),
                    );
                }
            }
        }
    }
    candidates
        .into_iter()
        .find_map(|expression| app_in_config_call(program, expression))
}

/// `app` in `$config({ app ... })`, when `expression` is such a call.
fn app_in_config_call<'s, 'a>(
    program: &'s Program<'a>,
    expression: &'s Expression<'a>,
) -> Option<AppFunction<'s, 'a>> {
    let expression = match expression.get_inner_expression() {
        // `module.exports = $config(...)`
        Expression::AssignmentExpression(assignment) => assignment.right.get_inner_expression(),
        expression => expression,
    };
    let Expression::CallExpression(call) = expression else {
        return None;
    };
    if !call.callee.is_specific_id("$config") {
        return None;
    }
    let Expression::ObjectExpression(object) = call
        .arguments
        .first()
        .and_then(Argument::as_expression)?
        .get_inner_expression()
    else {
        return None;
    };
    // The last `app` wins, as it would when the object is evaluated.
    let value = object
        .properties
        .iter()
        .rev()
        .find_map(|property| match property {
            ObjectPropertyKind::ObjectProperty(property)
                if !property.kind.is_accessor() && property.key.is_specific_static_name("app") =>
            {
                Some(&property.value)
            }
            _ => None,
        })?;
    as_app_function(program, value, 0)
}

/// `value` as a function: a method, function expression or arrow, or the name of a
/// top-level function declaration or of a top-level variable holding one.
fn as_app_function<'s, 'a>(
    program: &'s Program<'a>,
    value: &'s Expression<'a>,
    depth: u8,
) -> Option<AppFunction<'s, 'a>> {
    match value.get_inner_expression() {
        Expression::FunctionExpression(function) => Some(AppFunction::Function(function)),
        Expression::ArrowFunctionExpression(arrow) => Some(AppFunction::Arrow(arrow)),
        Expression::Identifier(ident) if depth < 4 => {
            let name = ident.name.as_str();
            program
                .body
                .iter()
                .find_map(|statement| match top_level_declaration(statement) {
                    Some(Declaration::FunctionDeclaration(function))
                        if function.name().is_some_and(|n| n == name) =>
                    {
                        Some(AppFunction::Function(function))
                    }
                    _ => None,
                })
                .or_else(|| {
                    let init = top_level_initializer(program, name)?;
                    as_app_function(program, init, depth + 1)
                })
        }
        _ => None,
    }
}

/// The declaration a top-level statement makes, whether exported or not.
fn top_level_declaration<'s, 'a>(statement: &'s Statement<'a>) -> Option<&'s Declaration<'a>> {
    match statement {
        Statement::ExportDeclaration(export) => Some(&export.declaration),
        statement => statement.as_declaration(),
    }
}

/// The initializer of the top-level `const`/`let`/`var` named `name`.
fn top_level_initializer<'s, 'a>(
    program: &'s Program<'a>,
    name: &str,
) -> Option<&'s Expression<'a>> {
    program
        .body
        .iter()
        .find_map(|statement| match top_level_declaration(statement) {
            Some(Declaration::VariableDeclaration(declaration)) => {
                declaration.declarations.iter().find_map(|declarator| {
                    let bound = declarator.id.get_identifier_name()?;
                    if bound == name {
                        declarator.init.as_ref()
                    } else {
                        None
                    }
                })
            }
            _ => None,
        })
}

/// Collects, in source order, the object literals that `return` statements in `statements`
/// return, without descending into nested functions.
fn collect_returned_objects<'s, 'a>(
    statements: &'s [Statement<'a>],
    out: &mut Vec<&'s ObjectExpression<'a>>,
) {
    for statement in statements {
        collect_from_statement(statement, out);
    }
}

fn collect_from_statement<'s, 'a>(
    statement: &'s Statement<'a>,
    out: &mut Vec<&'s ObjectExpression<'a>>,
) {
    match statement {
        Statement::ReturnStatement(ret) => {
            if let Some(Expression::ObjectExpression(object)) =
                ret.argument.as_ref().map(Expression::get_inner_expression)
            {
                out.push(object);
            }
        }
        Statement::BlockStatement(block) => collect_returned_objects(&block.body, out),
        Statement::IfStatement(if_statement) => {
            collect_from_statement(&if_statement.consequent, out);
            if let Some(alternate) = &if_statement.alternate {
                collect_from_statement(alternate, out);
            }
        }
        Statement::TryStatement(try_statement) => {
            collect_returned_objects(&try_statement.block.body, out);
            if let Some(handler) = &try_statement.handler {
                collect_returned_objects(&handler.body.body, out);
            }
            if let Some(finalizer) = &try_statement.finalizer {
                collect_returned_objects(&finalizer.body, out);
            }
        }
        Statement::SwitchStatement(switch) => {
            for case in &switch.cases {
                collect_returned_objects(&case.consequent, out);
            }
        }
        Statement::LabeledStatement(labeled) => collect_from_statement(&labeled.body, out),
        Statement::ForStatement(s) => collect_from_statement(&s.body, out),
        Statement::ForInStatement(s) => collect_from_statement(&s.body, out),
        Statement::ForOfStatement(s) => collect_from_statement(&s.body, out),
        Statement::WhileStatement(s) => collect_from_statement(&s.body, out),
        Statement::DoWhileStatement(s) => collect_from_statement(&s.body, out),
        Statement::WithStatement(s) => collect_from_statement(&s.body, out),
        _ => {}
    }
}

/// `key` read from the first returned object; `Dynamic` when a later returned object disagrees,
/// or when `app` returns no object literal (nothing is known then).
fn agreed_value(objects: &[&ObjectExpression<'_>], key: &str) -> StaticValue {
    let Some((first, rest)) = objects.split_first() else {
        return StaticValue::Dynamic;
    };
    let value = property_value(first, key);
    if rest
        .iter()
        .all(|object| property_value(object, key) == value)
    {
        value
    } else {
        StaticValue::Dynamic
    }
}

/// The static value of property `key` of `object`, following evaluation order: a later
/// property overrides an earlier one, and a spread (or a computed key that can't be read)
/// may override anything before it.
fn property_value(object: &ObjectExpression<'_>, key: &str) -> StaticValue {
    let mut value = StaticValue::Absent;
    for property in &object.properties {
        match property {
            ObjectPropertyKind::SpreadProperty(_) => value = StaticValue::Dynamic,
            ObjectPropertyKind::ObjectProperty(property) => match property.key.static_name() {
                Some(name) if name == key => {
                    value = if property.kind.is_accessor() {
                        StaticValue::Dynamic
                    } else {
                        literal_string(&property.value)
                    };
                }
                Some(_) => {}
                None => value = StaticValue::Dynamic,
            },
        }
    }
    value
}

/// `Literal` for a string literal or an expression-free template literal (through parentheses,
/// `as`, `satisfies`, `!` and `<T>` assertions), `Dynamic` for anything else.
fn literal_string(expression: &Expression<'_>) -> StaticValue {
    match expression.get_inner_expression() {
        Expression::StringLiteral(literal) if !literal.lone_surrogates => {
            StaticValue::Literal(literal.value.as_str().to_owned())
        }
        Expression::TemplateLiteral(template)
            if template.quasis.iter().all(|quasi| !quasi.lone_surrogates) =>
        {
            template
                .single_quasi()
                .map_or(StaticValue::Dynamic, |cooked| {
                    StaticValue::Literal(cooked.as_str().to_owned())
                })
        }
        _ => StaticValue::Dynamic,
    }
}

/// 1-based line and character column of byte `offset` in `source`.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Whether `message` starts with `LINE:COLUMN: `.
fn starts_with_position(message: &str) -> bool {
    let mut parts = message.splitn(3, ':');
    let is_number = |part: Option<&str>| {
        part.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    is_number(parts.next()) && is_number(parts.next()) && parts.next().is_some()
}

#[cfg(test)]
mod tests;
