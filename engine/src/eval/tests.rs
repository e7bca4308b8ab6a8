use super::*;
use crate::finding::PatchKind;
use crate::ir::*;
use crate::json;
use crate::test_support::{path, policy, set_of};
use std::sync::Arc;

fn privileged_rule() -> Rule {
    let privileged = path(Expr::Slot(0), &["securityContext", "privileged"]);
    Rule {
        index: 0,
        action: Action::Deny,
        condition: Expr::Binary(
            BinaryOp::Equal,
            Box::new(privileged),
            Box::new(Expr::Literal(json!(true))),
        ),
        at: Some(PathExpr {
            root: PathRoot::Slot(0),
            steps: vec![
                PathStep::Field("securityContext".into()),
                PathStep::Field("privileged".into()),
            ],
        }),
        message: vec![
            TemplatePart::Text("container ".into()),
            TemplatePart::Expr(path(Expr::Slot(0), &["name"])),
            TemplatePart::Text(" is privileged".into()),
        ],
        fixes: vec![Fix::Set {
            target: PathExpr {
                root: PathRoot::Slot(0),
                steps: vec![
                    PathStep::Field("securityContext".into()),
                    PathStep::Field("privileged".into()),
                ],
            },
            value: Expr::Literal(json!(false)),
        }],
        explain: vec![],
    }
}

fn privileged_policy() -> Policy {
    privileged_in(Expr::Pod, Scope::Pods)
}

/// The privileged rule over every container of `pod`, in a policy of `scope`.
fn privileged_in(pod: Expr, scope: Scope) -> Policy {
    policy(
        vec![Stmt::For {
            key_slot: None,
            value_slot: 0,
            collection: Expr::PodContainers(Box::new(pod)),
            body: vec![Stmt::Rule(privileged_rule())],
        }],
        1,
        scope,
    )
}

fn evaluate(policy: Policy, resource: &crate::json::Json) -> Evaluation {
    let set = set_of(policy);
    let evaluator = Evaluator::new(&set, EvalOptions::default());
    evaluator.evaluate(&Subject::new(resource))
}

#[test]
fn finds_privileged_containers_in_pod_templates_with_pointers() {
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {
            "containers": [{"name": "ok"}, {"name": "bad", "securityContext": {"privileged": true}}],
            "initContainers": [{"name": "init", "securityContext": {"privileged": true}}]
        }}}
    });
    let evaluation = evaluate(privileged_policy(), &deployment);
    let pointers: Vec<_> = evaluation
        .findings
        .iter()
        .map(|finding| finding.pointer.as_str())
        .collect();
    assert_eq!(
        pointers,
        [
            "/spec/template/spec/containers/1/securityContext/privileged",
            "/spec/template/spec/initContainers/0/securityContext/privileged"
        ]
    );
    assert_eq!(
        evaluation.findings[0].message,
        "container bad is privileged"
    );
    assert_eq!(evaluation.findings[0].fix[0].op, PatchKind::Replace);
    assert_eq!(evaluation.matched, [Arc::from("test.policy")]);
}

#[test]
fn without_recording_matches_findings_still_name_their_policy() {
    let set = set_of(privileged_policy());
    let options = EvalOptions {
        record_matched: false,
        ..EvalOptions::default()
    };
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [{"name": "bad", "securityContext": {"privileged": true}}]}}}});
    let evaluation = Evaluator::new(&set, options).evaluate(&Subject::new(&deployment));
    assert!(evaluation.matched.is_empty());
    assert_eq!(evaluation.findings.len(), 1);
    assert_eq!(&*evaluation.findings[0].policy, "test.policy");
}

#[test]
fn kinds_without_pods_do_not_match_pod_policies() {
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let evaluation = evaluate(privileged_policy(), &config_map);
    assert!(evaluation.matched.is_empty());
}

#[test]
fn fixes_create_missing_parents() {
    let mut policy = privileged_policy();
    let Stmt::For { body, .. } = &mut policy.body[0] else {
        unreachable!()
    };
    let Stmt::Rule(rule) = &mut body[0] else {
        unreachable!()
    };
    rule.condition = Expr::Literal(json!(true));
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a"}]}});
    let evaluation = evaluate(policy, &pod);
    let fix = &evaluation.findings[0].fix[0];
    assert_eq!(fix.op, PatchKind::Add);
    assert_eq!(fix.path, "/spec/containers/0/securityContext");
    assert_eq!(fix.value, Some(json!({"privileged": false})));
}

#[test]
fn step_budget_stops_runaway_evaluation() {
    let mut policy = privileged_policy();
    policy.body = vec![Stmt::For {
        key_slot: None,
        value_slot: 0,
        collection: Expr::Literal(json!((0..1000).collect::<Vec<_>>())),
        body: vec![Stmt::For {
            key_slot: None,
            value_slot: 0,
            collection: Expr::Literal(json!((0..1000).collect::<Vec<_>>())),
            // A rule the key index cannot rule out, so that the policy runs.
            body: vec![Stmt::Rule(Rule {
                condition: Expr::Binary(
                    BinaryOp::Equal,
                    Box::new(Expr::Slot(0)),
                    Box::new(Expr::Literal(json!(-1))),
                ),
                ..privileged_rule()
            })],
        }],
    }];
    let set = set_of(policy);
    let options = EvalOptions {
        step_budget: 10_000,
        ..EvalOptions::default()
    };
    let evaluator = Evaluator::new(&set, options);
    let pod = json!({"kind": "Pod", "spec": {}});
    let evaluation = evaluator.evaluate(&Subject::new(&pod));
    assert_eq!(evaluation.errors.len(), 1);
    assert!(evaluation.errors[0].message.contains("budget"));
}

#[test]
fn null_semantics_of_operators() {
    let check = |expr: Expr, expected: crate::json::Json| {
        let mut policy = policy(vec![], 1, Scope::All);
        policy.body = vec![Stmt::Rule(Rule {
            index: 0,
            action: Action::Deny,
            condition: Expr::Literal(json!(true)),
            at: None,
            message: vec![TemplatePart::Expr(expr)],
            fixes: vec![],
            explain: vec![],
        })];
        let evaluation = evaluate(policy, &json!({"kind": "X"}));
        assert_eq!(
            evaluation.findings[0].message,
            expected.to_string().trim_matches('"')
        );
    };
    let null = || Box::new(Expr::Literal(json!(null)));
    let int = |n: i64| Box::new(Expr::Literal(json!(n)));
    check(Expr::Binary(BinaryOp::Less, null(), int(1)), json!(false));
    check(
        Expr::Binary(
            BinaryOp::NotEqual,
            null(),
            Box::new(Expr::Literal(json!(false))),
        ),
        json!(true),
    );
    check(Expr::Binary(BinaryOp::Divide, int(1), int(0)), json!(null));
    check(Expr::Binary(BinaryOp::Coalesce, null(), int(3)), json!(3));
    check(Expr::Unary(UnaryOp::Not, null()), json!(true));
    check(path(Expr::Resource, &["a", "b", "c"]), json!(null));
    check(
        Expr::Call(Builtin::Quantity, vec![Expr::Literal(json!("500m"))]),
        json!(0.5),
    );
}

/// `let table = [...]`, `let safe = [e.name for e in table if
/// version_at_least(e.since)]`, `let name = pod.metadata.name`,
/// `let shown = name + safe[0]` and `let both = [x for x in safe if x != name]`.
fn version_table_policy() -> Policy {
    let table = Expr::Literal(json!([
        {"name": "old", "since": "1.0"},
        {"name": "new", "since": "1.27"}
    ]));
    let safe = Expr::Comprehension {
        key_slot: None,
        value_slot: 1,
        collection: Box::new(Expr::Slot(0)),
        filter: Some(Box::new(Expr::Call(
            Builtin::VersionAtLeast,
            vec![path(Expr::Slot(1), &["since"])],
        ))),
        map: Box::new(path(Expr::Slot(1), &["name"])),
    };
    let shown = Expr::Binary(
        BinaryOp::Add,
        Box::new(Expr::Slot(3)),
        Box::new(Expr::Index(
            Box::new(Expr::Slot(2)),
            Box::new(Expr::Literal(json!(0))),
        )),
    );
    let both = Expr::Comprehension {
        key_slot: None,
        value_slot: 6,
        collection: Box::new(Expr::Slot(2)),
        filter: Some(Box::new(Expr::Binary(
            BinaryOp::NotEqual,
            Box::new(Expr::Slot(6)),
            Box::new(Expr::Slot(3)),
        ))),
        map: Box::new(Expr::Slot(6)),
    };
    policy(
        vec![
            Stmt::Let {
                slot: 0,
                value: table,
            },
            Stmt::Let {
                slot: 2,
                value: safe,
            },
            Stmt::Let {
                slot: 3,
                value: path(Expr::Pod, &["metadata", "name"]),
            },
            Stmt::Let {
                slot: 4,
                value: shown,
            },
            Stmt::Let {
                slot: 5,
                value: both,
            },
        ],
        7,
        Scope::Pods,
    )
}

#[test]
fn lets_that_read_no_resource_are_computed_once_at_the_evaluator_version() {
    let policy = version_table_policy();
    let set = PolicySet {
        version: IR_VERSION,
        policies: vec![],
        functions: vec![],
    };
    for (version, safe) in [("1.26", json!(["old"])), ("1.27", json!(["old", "new"]))] {
        let options = EvalOptions {
            version: KubeVersion::parse(version).expect("version"),
            ..EvalOptions::default()
        };
        let evaluator = Evaluator::new(&set, options);
        let constants = super::constants::of_policy(&evaluator, &policy);
        assert_eq!(constants[0], Some(policy_table()), "the table is constant");
        assert_eq!(constants[2], Some(safe), "at {version}");
        // Anything that reads the resource, directly or through another
        // let, is left to each evaluation.
        assert_eq!(constants[3], None);
        assert_eq!(constants[4], None);
        assert_eq!(constants[5], None);
    }
}

fn policy_table() -> crate::json::Json {
    json!([{"name": "old", "since": "1.0"}, {"name": "new", "since": "1.27"}])
}

/// `for c in pod.containers { let shown = "{c.name}" + matches(c.name, "(")
/// deny c.name == "bad" message "{shown}" }`: the let is read only by the
/// message, so it is evaluated only for the container that fails.
#[test]
fn a_let_only_messages_read_is_evaluated_when_a_message_needs_it() {
    let shown = Expr::Format(vec![
        TemplatePart::Text("container ".into()),
        TemplatePart::Expr(path(Expr::Slot(0), &["name"])),
    ]);
    let failing = Expr::Call(
        Builtin::Matches,
        vec![path(Expr::Slot(0), &["name"]), Expr::Literal(json!("("))],
    );
    let rule = |slot: u32| Rule {
        index: 0,
        action: Action::Deny,
        condition: Expr::Binary(
            BinaryOp::Equal,
            Box::new(path(Expr::Slot(0), &["name"])),
            Box::new(Expr::Literal(json!("bad"))),
        ),
        at: None,
        message: vec![TemplatePart::Expr(Expr::Slot(slot))],
        fixes: vec![],
        explain: vec![],
    };
    let policy_with = |value: Expr| {
        policy(
            vec![Stmt::For {
                key_slot: None,
                value_slot: 0,
                collection: Expr::PodContainers(Box::new(Expr::Pod)),
                body: vec![Stmt::Let { slot: 1, value }, Stmt::Rule(rule(1))],
            }],
            2,
            Scope::Pods,
        )
    };
    let pod = |names: &[&str]| {
        let containers: Vec<_> = names.iter().map(|name| json!({"name": name})).collect();
        json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": containers}})
    };
    let evaluation = evaluate(policy_with(shown), &pod(&["good", "bad"]));
    assert_eq!(evaluation.findings.len(), 1);
    assert_eq!(evaluation.findings[0].message, "container bad");
    assert_eq!(evaluation.findings[0].pointer, "/spec/containers/1");
    // An invalid pattern in such a let stops the policy only when a message
    // needs its value.
    let quiet = evaluate(policy_with(failing.clone()), &pod(&["good"]));
    assert!(quiet.errors.is_empty() && quiet.findings.is_empty());
    let stopped = evaluate(policy_with(failing), &pod(&["bad"]));
    assert_eq!(stopped.errors.len(), 1);
    assert!(stopped.findings.is_empty());
}

#[test]
fn plans_are_shared_only_by_evaluators_of_the_same_set_and_version() {
    let mut policy = version_table_policy();
    policy.body.push(Stmt::Rule(Rule {
        index: 0,
        action: Action::Deny,
        condition: Expr::Binary(
            BinaryOp::In,
            Box::new(Expr::Literal(json!("new"))),
            Box::new(Expr::Slot(2)),
        ),
        at: None,
        message: vec![TemplatePart::Text("new is safe".into())],
        fixes: vec![],
        explain: vec![],
    }));
    let set = set_of(policy);
    let at = |version: &str| EvalOptions {
        version: KubeVersion::parse(version).expect("version"),
        ..EvalOptions::default()
    };
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}});
    let plans = Evaluator::new(&set, at("1.26")).plans();
    let fired =
        |evaluator: Evaluator<'_>| !evaluator.evaluate(&Subject::new(&pod)).findings.is_empty();
    assert!(!fired(Evaluator::with_plans(&set, at("1.26"), &plans)));
    // Plans made at 1.26 hold 1.26's table: at 1.27 they are made afresh.
    assert!(fired(Evaluator::with_plans(&set, at("1.27"), &plans)));
    // And for another set (other policy ids), here one whose table lacks
    // the entry: reusing 1.27's plans would wrongly fire.
    let plans = Evaluator::new(&set, at("1.27")).plans();
    let mut other = set.clone();
    other.policies[0].id = "other.policy".into();
    other.policies[0].body[0] = Stmt::Let {
        slot: 0,
        value: Expr::Literal(json!([{"name": "old", "since": "1.0"}])),
    };
    assert!(!fired(Evaluator::with_plans(&other, at("1.27"), &plans)));
    assert!(fired(Evaluator::with_plans(&set, at("1.27"), &plans)));
}

#[test]
fn plans_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>(_: &T) {}
    let set = set_of(privileged_policy());
    let plans = Evaluator::new(&set, EvalOptions::default()).plans();
    shareable(&plans);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "securityContext": {"privileged": true}}]}});
    let findings = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            Evaluator::with_plans(&set, EvalOptions::default(), &plans)
                .evaluate(&Subject::new(&pod))
                .findings
                .len()
        });
        worker.join().unwrap_or_default()
    });
    assert_eq!(findings, 1);
}

/// `Run::condition` is `Run::eval(..).is_true()` without the boolean
/// values: the same answer and the same steps charged, for every operator
/// it answers itself and for those it hands back to `eval`.
#[test]
fn a_condition_answers_and_charges_as_evaluating_it_would() {
    let literal = |value: crate::json::Json| Box::new(Expr::Literal(value));
    let slot = |index: u32| Box::new(Expr::Slot(index));
    let binary = |operator, left, right| Box::new(Expr::Binary(operator, left, right));
    let not = |operand| Box::new(Expr::Unary(UnaryOp::Not, operand));
    let leaves = [
        slot(0),
        slot(1),
        literal(json!(null)),
        literal(json!("a")),
        literal(json!(["a", "b"])),
        Box::new(path(Expr::Resource, &["spec", "flag"])),
    ];
    let operators = [
        BinaryOp::And,
        BinaryOp::Or,
        BinaryOp::Equal,
        BinaryOp::NotEqual,
        BinaryOp::In,
        BinaryOp::NotIn,
        BinaryOp::Coalesce,
        BinaryOp::Less,
        BinaryOp::Add,
    ];
    let mut expressions = Vec::new();
    for operator in operators {
        for left in &leaves {
            for right in &leaves {
                let pair = binary(operator, left.clone(), right.clone());
                expressions.push(not(pair.clone()));
                expressions.push(binary(BinaryOp::Or, not(left.clone()), pair.clone()));
                expressions.push(pair);
            }
        }
    }
    let resource = json!({"spec": {"flag": true}});
    let set = set_of(policy(vec![], 2, Scope::All));
    let evaluator = Evaluator::new(&set, EvalOptions::default());
    let subject = Subject::new(&resource);
    let run_of = || {
        let mut run = exec::Run::new(&evaluator, &set.policies[0], &subject, None, &NO_PLAN);
        run.slots = vec![crate::value::Value::True, crate::value::Value::string("a")];
        run
    };
    for expression in &expressions {
        let (mut by_value, mut by_condition) = (run_of(), run_of());
        let value = by_value.eval(expression).map(|value| value.is_true());
        let condition = by_condition.condition(expression);
        assert_eq!(value.ok(), condition.ok(), "{expression:?}");
        assert_eq!(
            by_value.budget.remaining.get(),
            by_condition.budget.remaining.get(),
            "steps of {expression:?}"
        );
    }
}

/// A computed list that comes out empty is the shared empty array: equal to
/// `[]` and to an empty list, in conditions and in fixes alike.
#[test]
fn empty_computed_lists_behave_as_empty_lists() {
    let empty = crate::value::Value::list(Vec::new());
    assert!(empty.equals(&crate::value::Value::Json(&json!([]))));
    assert!(empty.index(&crate::value::Value::Int(0)).is_null());
    assert_eq!(empty.to_json(), json!([]));
    let one = crate::value::Value::list(vec![crate::value::Value::Int(1)]);
    assert!(!one.equals(&empty));
}

/// The pod's container lists are kept for the resource's later policies,
/// but only for the pod: containers of another object are looked up anew.
#[test]
fn kept_container_lists_are_the_pods_only() {
    let mut set = set_of(privileged_policy());
    set.policies.push(Policy {
        id: "test.other".into(),
        ..privileged_in(path(Expr::Resource, &["other"]), Scope::Pods)
    });
    // A hand-made policy not about pods that reads `pod`: null there, even
    // after a pod policy kept the lists.
    set.policies.push(Policy {
        id: "test.not_pods".into(),
        ..privileged_in(Expr::Pod, Scope::All)
    });
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "mine", "securityContext": {"privileged": true}}]},
        "other": {"spec": {"initContainers": [{"name": "theirs", "securityContext": {"privileged": true}}]}}});
    let evaluation = Evaluator::new(&set, EvalOptions::default()).evaluate(&Subject::new(&pod));
    let found: Vec<(&str, &str)> = evaluation
        .findings
        .iter()
        .map(|finding| (&*finding.policy, finding.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("test.policy", "container mine is privileged"),
            ("test.other", "container theirs is privileged")
        ]
    );
}

/// A policy that runs out of steps after a finding reports only its error:
/// its finding is dropped, and not carried into the next policy's.
#[test]
fn a_failed_policy_leaves_no_finding_behind() {
    let always = |index| {
        Stmt::Rule(Rule {
            index,
            action: Action::Deny,
            condition: Expr::Literal(json!(true)),
            at: None,
            message: vec![TemplatePart::Text("fired".into())],
            fixes: vec![],
            explain: vec![],
        })
    };
    let long_loop = Stmt::For {
        key_slot: None,
        value_slot: 0,
        collection: Expr::Literal(json!((0..100).collect::<Vec<u32>>())),
        body: vec![],
    };
    let failing = Policy {
        id: "test.failing".into(),
        ..policy(vec![always(0), long_loop], 1, Scope::All)
    };
    let mut set = set_of(failing);
    set.policies.push(Policy {
        id: "test.after".into(),
        ..policy(vec![always(0)], 1, Scope::All)
    });
    let options = EvalOptions {
        step_budget: 50,
        ..EvalOptions::default()
    };
    let resource = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let evaluation = Evaluator::new(&set, options).evaluate(&Subject::new(&resource));
    let policies: Vec<&str> = evaluation
        .findings
        .iter()
        .map(|finding| &*finding.policy)
        .collect();
    assert_eq!(policies, ["test.after"]);
    assert_eq!(evaluation.errors.len(), 1);
    assert_eq!(evaluation.errors[0].policy, "test.failing");
}

/// Two copies of the privileged policy, the second overriding the first
/// from `since` on.
fn overriding_pair(since: Option<KubeVersion>) -> PolicySet {
    let weaker = Policy {
        id: "test.weaker".into(),
        ..privileged_policy()
    };
    let stronger = Policy {
        id: "test.stronger".into(),
        since,
        overrides: vec!["test.weaker".into()],
        ..privileged_policy()
    };
    PolicySet {
        policies: vec![weaker, stronger],
        ..set_of(privileged_policy())
    }
}

fn policies_that_fired(set: &PolicySet, options: EvalOptions) -> Vec<String> {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "bad", "securityContext": {"privileged": true}}]}});
    let evaluator = Evaluator::new(set, options);
    let mut fired: Vec<String> = evaluator
        .evaluate(&Subject::new(&pod))
        .findings
        .iter()
        .map(|finding| finding.policy.to_string())
        .collect();
    fired.dedup();
    fired
}

#[test]
fn a_policy_overridden_by_another_of_the_set_does_not_run() {
    let set = overriding_pair(None);
    assert_eq!(set.overridden_at(KubeVersion::LATEST), [true, false]);
    assert_eq!(
        policies_that_fired(&set, EvalOptions::default()),
        ["test.stronger"]
    );
}

#[test]
fn an_override_holds_only_where_the_overriding_policy_applies() {
    let since = KubeVersion::parse("v1.25");
    let set = overriding_pair(since);
    let older = EvalOptions {
        version: KubeVersion::parse("v1.24").unwrap(),
        ..EvalOptions::default()
    };
    assert_eq!(set.overridden_at(older.version), [false, false]);
    assert_eq!(policies_that_fired(&set, older), ["test.weaker"]);
    assert_eq!(
        policies_that_fired(&set, EvalOptions::default()),
        ["test.stronger"]
    );
}

#[test]
fn overrides_can_be_turned_off() {
    let set = overriding_pair(None);
    let every = EvalOptions {
        apply_overrides: false,
        ..EvalOptions::default()
    };
    assert_eq!(
        policies_that_fired(&set, every),
        ["test.weaker", "test.stronger"]
    );
}

#[test]
fn a_policy_run_by_itself_runs_even_when_overridden() {
    let set = overriding_pair(None);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "bad", "securityContext": {"privileged": true}}]}});
    let evaluator = Evaluator::new(&set, EvalOptions::default());
    let mut evaluation = crate::Evaluation::default();
    evaluator.evaluate_policy(&set.policies[0], &Subject::new(&pod), &mut evaluation);
    assert_eq!(evaluation.findings.len(), 1);
}
