use super::*;

fn lit(value: &str) -> StaticValue {
    StaticValue::Literal(value.to_owned())
}

fn read(source: &str) -> AppConfig {
    read_app_config(source).unwrap_or_else(|e| panic!("{e}\n---\n{source}"))
}

#[test]
fn standard_template_with_reference_header() {
    let source = r#"/// <reference path="./.sst/platform/config.d.ts" />
export default $config({
  app(input) {
return {
  name: "my-app",
  removal: input?.stage === "production" ? "retain" : "remove",
  protect: ["production"].includes(input?.stage),
  home: "aws",
};
  },
  async run() {
new sst.aws.Bucket("MyBucket");
  },
});
"#;
    assert_eq!(
        read(source),
        AppConfig {
            name: lit("my-app"),
            home: lit("aws")
        }
    );
}

#[test]
fn method_with_local_home() {
    let source = r#"export default $config({
  app(input) {
return { name: "my-app", removal: input?.stage === "production" ? "retain" : "remove", home: "local" };
  },
  async run() {},
});"#;
    assert_eq!(
        read(source),
        AppConfig {
            name: lit("my-app"),
            home: lit("local")
        }
    );
}

#[test]
fn async_method() {
    let source = r#"export default $config({
  async app(input) { return { name: "async-app", home: "cloudflare" }; },
  async run() {},
});"#;
    assert_eq!(
        read(source),
        AppConfig {
            name: lit("async-app"),
            home: lit("cloudflare")
        }
    );
}

#[test]
fn arrow_with_expression_body() {
    let source = r#"export default $config({
  app: (input) => ({ name: "arrow-app", home: "aws" }),
  run: async () => {},
});"#;
    assert_eq!(
        read(source),
        AppConfig {
            name: lit("arrow-app"),
            home: lit("aws")
        }
    );
}

#[test]
fn arrow_with_block_body_and_types() {
    let source = r#"export default $config({
  app: async (input: { stage?: string }): Promise<any> => {
const removal = input.stage === "production" ? "retain" : "remove";
return { name: "block-arrow", removal, home: "aws" };
  },
  async run() {},
});"#;
    assert_eq!(
        read(source),
        AppConfig {
            name: lit("block-arrow"),
            home: lit("aws")
        }
    );
}

#[test]
fn async_function_expression_property() {
    let source = r#"export default $config({
  app: async function (input) {
return { name: "fn-app", home: "aws" };
  },
  run: function () {},
});"#;
    assert_eq!(
        read(source),
        AppConfig {
            name: lit("fn-app"),
            home: lit("aws")
        }
    );
}

#[test]
fn comments_everywhere() {
    let source = r#"// header comment
/* block */ export default /* a */ $config( /* b */ {
  // the app
  app /* c */ (input /* d */) /* e */ {
/* f */ return /* g */ {
  // name follows
  name: /* h */ "commented" /* i */, // trailing
  /** doc */ home: "aws", /* j */
}; // k
  },
  /* l */ async run() { /* m */ },
} /* n */ ) /* o */ ;
// footer"#;
    assert_eq!(
        read(source),
        AppConfig {
            name: lit("commented"),
            home: lit("aws")
        }
    );
}

#[test]
fn satisfies_and_as_const() {
    let source = r#"import type { App } from "./types";
export default $config({
  app(input) {
return ({ name: "typed" as const, home: "aws" satisfies string } as const) satisfies App;
  },
  async run() {},
} satisfies Config) as unknown as Config;"#;
    assert_eq!(
        read(source),
        AppConfig {
            name: lit("typed"),
            home: lit("aws")
        }
    );
}

#[test]
fn template_literal_name() {
    let source = "export default $config({ app() { return { name: `tpl-app`, home: `aws` }; } });";
    assert_eq!(
        read(source),
        AppConfig {
            name: lit("tpl-app"),
            home: lit("aws")
        }
    );
}

#[test]
fn template_literal_with_expression_is_dynamic() {
    let source =
        "export default $config({ app(i) { return { name: `app-${i.stage}`, home: 'aws' }; } });";
    assert_eq!(
        read(source),
        AppConfig {
            name: StaticValue::Dynamic,
            home: lit("aws")
        }
    );
}

#[test]
fn name_from_env_is_dynamic() {
    let source = r#"export default $config({
  app() { return { name: process.env.APP, home: "aws" }; },
});"#;
    assert_eq!(
        read(source),
        AppConfig {
            name: StaticValue::Dynamic,
            home: lit("aws")
        }
    );
}

#[test]
fn name_from_conditional_is_dynamic() {
    let source = r#"export default $config({
  app(input) { return { name: input.stage === "prod" ? "a" : "b", home: "aws" }; },
});"#;
    assert_eq!(
        read(source),
        AppConfig {
            name: StaticValue::Dynamic,
            home: lit("aws")
        }
    );
}

#[test]
fn home_absent() {
    let source = r#"export default $config({ app() { return { name: "no-home" }; } });"#;
    assert_eq!(
        read(source),
        AppConfig {
            name: lit("no-home"),
            home: StaticValue::Absent
        }
    );
}

#[test]
fn shorthand_and_spread() {
    let source = r#"const home = "aws";
export default $config({
  app() { return { home, ...{ x: 1 }, name: "after-spread" }; },
});"#;
    assert_eq!(
        read(source),
        AppConfig {
            name: lit("after-spread"),
            home: StaticValue::Dynamic
        }
    );
}

#[test]
fn several_returns_first_object_wins_and_disagreement_is_dynamic() {
    let agree = r#"export default $config({
  app(input) {
if (!input) return undefined as any;
if (input.stage === "prod") {
  return { name: "same", home: "aws" };
}
const f = () => { return { name: "nested-fn-ignored" }; };
return { name: "same", home: "aws", removal: "remove" };
  },
});"#;
    assert_eq!(
        read(agree),
        AppConfig {
            name: lit("same"),
            home: lit("aws")
        }
    );

    let disagree = r#"export default $config({
  app(input) {
if (input.stage === "prod") return { name: "a", home: "aws" };
return { name: "b", home: "aws" };
  },
});"#;
    assert_eq!(
        read(disagree),
        AppConfig {
            name: StaticValue::Dynamic,
            home: lit("aws")
        }
    );
}

#[test]
fn no_object_literal_returned_is_dynamic() {
    let source = "export default $config({ app: (input) => makeApp(input) });";
    assert_eq!(
        read(source),
        AppConfig {
            name: StaticValue::Dynamic,
            home: StaticValue::Dynamic
        }
    );
}

#[test]
fn const_then_export_default() {
    let source = r#"const config = $config({
  app(input) { return { name: "via-const", home: "aws" }; },
  async run() {},
});
export default config;"#;
    assert_eq!(
        read(source),
        AppConfig {
            name: lit("via-const"),
            home: lit("aws")
        }
    );
}

#[test]
fn other_top_level_shapes() {
    let exported_const = r#"export const config = $config({
  app: () => ({ name: "exported-const", home: "aws" }),
});"#;
    assert_eq!(
        read(exported_const),
        AppConfig {
            name: lit("exported-const"),
            home: lit("aws")
        }
    );
    let export_assignment = r#"export = $config({ app() { return { name: "assigned" }; } });"#;
    assert_eq!(
        read(export_assignment),
        AppConfig {
            name: lit("assigned"),
            home: StaticValue::Absent
        }
    );
    let parenthesised = r#"export default ($config)(({
  app: ((input) => (({ name: ("paren"), home: ("aws") }))),
}));"#;
    assert_eq!(
        read(parenthesised),
        AppConfig {
            name: lit("paren"),
            home: lit("aws")
        }
    );
}

#[test]
fn app_referenced_by_name() {
    let source = r#"function app(input: any) { return { name: "named-fn", home: "aws" }; }
export default $config({ app, async run() {} });"#;
    assert_eq!(
        read(source),
        AppConfig {
            name: lit("named-fn"),
            home: lit("aws")
        }
    );
}

#[test]
fn string_keys_and_escapes() {
    let source = r#"export default $config({ "app"() { return { "name": "it\u0027s", 'home': 'aws' }; } });"#;
    assert_eq!(
        read(source),
        AppConfig {
            name: lit("it's"),
            home: lit("aws")
        }
    );
}

#[test]
fn syntax_error_reports_position() {
    let source = "export default $config({\n  app() {\n    return { name: \"x\" home: \"aws\" };\n  },\n});\n";
    let error = read_app_config(source).unwrap_err();
    let ConfigParseError::Syntax(message) = &error else {
        panic!("{error:?}")
    };
    assert!(message.starts_with("3:"), "{message}");
    let shown = error.to_string();
    assert!(
        shown.starts_with("sst.config.ts has a syntax error at 3:"),
        "{shown}"
    );
}

#[test]
fn no_config_call() {
    let source = "export default { app() { return { name: 'x' }; } };";
    assert_eq!(
        read_app_config(source),
        Err(ConfigParseError::NoAppFunction)
    );
    assert_eq!(
        ConfigParseError::NoAppFunction.to_string(),
        "no `app()` function found in the `$config({...})` call"
    );
}

#[test]
fn config_without_app() {
    let source = "export default $config({ async run() {} });";
    assert_eq!(
        read_app_config(source),
        Err(ConfigParseError::NoAppFunction)
    );
    assert_eq!(read_app_config(""), Err(ConfigParseError::NoAppFunction));
}

/// `app()` returning an object whose `x` is `open + prefix * n + middle + suffix * n + close`.
fn nested(kind: &Nesting, n: usize) -> String {
    let (open, prefix, middle, suffix, close) = kind;
    format!(
        "export default $config({{\n  app() {{\n    return {{ name: \"deep\", home: \"local\", x: {open}{}{middle}{}{close} }};\n  }},\n}});\n",
        prefix.repeat(n),
        suffix.repeat(n)
    )
}

/// (open, prefix, middle, suffix, close): `prefix` and `suffix` are repeated.
type Nesting = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// Every kind of nesting that costs the parser stack.
const NESTINGS: &[Nesting] = &[
    ("", "[", "0", "]", ""),
    ("", "(", "0", ")", ""),
    ("", "{a: ", "0", "}", ""),
    ("", "`${", "0", "}`", ""),
    ("", "[...", "0", "]", ""),
    ("", "!", "0", "", ""),
    ("", "typeof ", "0", "", ""),
    ("", "new ", "X", "", ""),
    ("", "a ? b : ", "0", "", ""),
    ("", "a = ", "0", "", ""),
    ("b", "\n= b", "", "", ""),
    ("", "x => ", "0", "", ""),
    ("", "(a) => ", "0", "", ""),
    ("", "0 ** ", "0", "", ""),
    ("", "<A>", "x", "", ""),
    ("", "function () { return ", "0", "}", ""),
    ("", "class { m() { return ", "0", "} }", ""),
    ("", "class extends ", "X", " {}", ""),
    ("", "f(a, ", "0", ")", ""),
    ("(a as ", "A<", "B", ">", ")"),
    ("(a as ", "A<B, ", "B", ">", ")"),
    ("(() => {", "if (a)\n", "x", "", "})"),
    ("(() => { if (a) x;", " else if (a) x;", "", "", "})"),
    ("(() => {", "a:\n", "x", "", "})"),
    ("(() => {", "do ", "x", " while (a);", "})"),
];

#[test]
fn too_deep_is_refused_before_parsing_with_its_position() {
    let source = nested(&NESTINGS[0], 100_000);
    let error = read_app_config(&source).unwrap_err();
    // five levels are open at the first `[`: `$config(`, its `{`, the body of `app`, the
    // returned object and the `x:` link; the first `[` past the limit is column:
    let column = "    return { name: \"deep\", home: \"local\", x: ".len() + (MAX_NESTING - 5) + 1;
    assert_eq!(error, ConfigParseError::TooDeep { line: 3, column });
    assert!(
        error
            .to_string()
            .starts_with("sst.config.ts nests deeper than 1000 levels at 3:"),
        "{error}"
    );
}

#[test]
fn every_kind_of_nesting_is_refused_past_the_limit_and_parsed_below_it() {
    // a thread with a small stack: the parse must not depend on the caller's
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            for kind in NESTINGS {
                let too_deep = nested(kind, 100_000);
                assert!(
                    matches!(
                        read_app_config(&too_deep),
                        Err(ConfigParseError::TooDeep { .. })
                    ),
                    "{kind:?} x 100000"
                );
                // the deepest source of this kind under the limit
                let (mut low, mut high) = (1, 100_000);
                while low + 1 < high {
                    let mid = (low + high) / 2;
                    let source = nested(kind, mid);
                    if nesting::deepest(&source, MAX_NESTING).depth <= MAX_NESTING {
                        low = mid;
                    } else {
                        high = mid;
                    }
                }
                assert!(low >= 300, "{kind:?}: only {low} levels under the limit");
                match read_app_config(&nested(kind, low)) {
                    Ok(_) | Err(ConfigParseError::Syntax(_)) => {}
                    Err(e) => panic!("{kind:?} x {low}: {e}"),
                }
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn nine_hundred_brackets_parse() {
    assert_eq!(
        read(&nested(&NESTINGS[0], 900)),
        AppConfig {
            name: lit("deep"),
            home: lit("local")
        }
    );
}

#[test]
fn line_column_counts_characters() {
    assert_eq!(line_column("ab\ncé d", 7), (2, 4));
    assert_eq!(line_column("", 10), (1, 1));
    assert!(starts_with_position("3:14: boom"));
    assert!(!starts_with_position("boom: 3"));
}
