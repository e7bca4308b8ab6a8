use super::*;

fn parse(text: &str) -> (Option<Config>, Vec<ConfigProblem>) {
    let mut problems = Vec::new();
    let config = Config::parse(text, "rampart.yaml", &mut problems);
    (config, problems)
}

fn messages(problems: &[ConfigProblem]) -> Vec<String> {
    problems.iter().map(ToString::to_string).collect()
}

#[test]
fn every_section_is_read() {
    let (config, problems) = parse(
        "sets: [recommended]\npolicies: [policies/]\nkubernetesVersion: v1.30\n\
         params:\n  a.b:\n    most: 5\nactions:\n  a.*: warn\n\
         exceptions:\n  - policy: a.b\n    namespace: legacy\n    reason: r\n    expires: 2027-03-31\n\
         exemptions:\n  namespaces: [kube-system]\n  usernames: [ci]\n  runtimeClassNames: [kata]\n\
         annotations:\n  allowExemptions: true\n",
    );
    assert!(problems.is_empty(), "{problems:?}");
    let config = config.unwrap_or_default();
    assert_eq!(config.sets, ["recommended"]);
    assert_eq!(config.policies, ["policies/"]);
    assert_eq!(config.kubernetes_version.as_deref(), Some("v1.30"));
    assert_eq!(config.params.len(), 1);
    assert_eq!(config.actions.len(), 1);
    let judging = &config.judging;
    assert_eq!(judging.exceptions.len(), 1);
    assert_eq!(
        judging.exceptions[0].expires.map(|date| date.to_string()),
        Some("2027-03-31".to_owned())
    );
    assert_eq!(judging.exemptions.namespaces, ["kube-system"]);
    assert_eq!(judging.exemptions.usernames, ["ci"]);
    assert_eq!(judging.exemptions.runtime_class_names, ["kata"]);
    assert!(judging.allow_annotation_exemptions);
}

#[test]
fn problems_name_the_line_and_suggest() {
    let (_, problems) = parse(
        "paramz: {}\nexceptions:\n  - policy: a\n    reason: r\n    expires: 2027-02-30\n\
         exemptions:\n  namespace: [x]\nactions:\n  a: block\n",
    );
    insta::assert_snapshot!(messages(&problems).join("\n"), @r"
    rampart.yaml:1:1: unknown configuration key `paramz` (did you mean `params`?)
    rampart.yaml:5:5: `exceptions[0].expires`: `2027-02-30` is not a date of the calendar (February 2027 has 28 days, not 30)
    rampart.yaml:7:3: unknown exemption `namespace` (did you mean `namespaces`?)
    rampart.yaml:9:3: the action of `a` must be deny, warn or audit
    ");
}

#[test]
fn a_configuration_that_is_not_a_mapping_is_refused() {
    let (config, problems) = parse("- a\n- b\n");
    assert!(config.is_none());
    assert_eq!(
        messages(&problems),
        ["rampart.yaml:1:1: the configuration must be a mapping"]
    );
}
