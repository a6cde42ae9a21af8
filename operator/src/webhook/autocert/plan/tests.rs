use super::*;

fn policy(validity: u64) -> Policy {
    Policy {
        hosts: vec!["configsync-webhook.ns.svc".into(), "127.0.0.1".into()],
        validity: Duration::from_secs(validity),
    }
}

fn written(stored: Option<Result<Stored, String>>, now: i64, p: &Policy) -> (Stored, Why) {
    match decide(stored, now, p).expect("issued") {
        Decision::Write(stored, why) => (stored, why),
        Decision::Keep(_) => panic!("expected something to write"),
    }
}

fn kept(stored: &Stored, now: i64, p: &Policy) -> bool {
    matches!(
        decide(Some(Ok(stored.clone())), now, p),
        Ok(Decision::Keep(_))
    )
}

fn reparse(stored: &Stored) -> Stored {
    parse(&stored.to_data()).expect("what decide writes parses back")
}

#[test]
fn a_missing_secret_gets_a_ca_and_a_serving_certificate_for_the_hosts() {
    let p = policy(3600);
    let (stored, why) = written(None, 1_000_000, &p);
    assert_eq!(why, Why::Missing);
    let stored = reparse(&stored);
    assert_eq!(
        stored.leaf_hosts,
        ["127.0.0.1", "configsync-webhook.ns.svc"]
    );
    assert_eq!(stored.leaf_not_after(), 1_000_000 + 3600);
    assert_eq!(stored.bundle.len(), 1);
    assert_eq!(stored.next_due(&p), 1_000_000 + 3600 - 1200);
    assert!(
        kept(&stored, 1_000_000 + 100, &p),
        "current: nothing to write"
    );
}

#[test]
fn the_serving_certificate_is_renewed_by_the_same_ca_a_third_before_its_end() {
    let p = policy(3000);
    let (first, _) = written(None, 0, &p);
    let first = reparse(&first);
    assert!(kept(&first, 1999, &p));
    let (second, why) = written(Some(Ok(first.clone())), 2000, &p);
    assert_eq!(why, Why::LeafDue);
    let second = reparse(&second);
    assert!(second.serving().0 != first.serving().0, "a new certificate");
    assert!(second.serving().1 != first.serving().1, "a new key");
    assert_eq!(second.bundle_pem(), first.bundle_pem(), "same CA");
    assert_eq!(second.leaf_not_after(), 5000);
}

#[test]
fn other_hosts_make_a_new_serving_certificate() {
    let (first, _) = written(None, 0, &policy(3000));
    let mut other = policy(3000);
    other.hosts.push("configsync-webhook.other.svc".into());
    let (next, why) = written(Some(Ok(reparse(&first))), 10, &other);
    assert_eq!(why, Why::LeafDue);
    assert!(
        reparse(&next)
            .leaf_hosts
            .contains(&"configsync-webhook.other.svc".to_owned())
    );
}

/// CA rotation: the new CA joins the bundle first (the old one stays, so the served certificate keeps
/// verifying); only the next serving certificate is signed by it; the old CA leaves the bundle once expired.
#[test]
fn a_new_ca_joins_the_bundle_before_it_signs_and_the_old_one_stays_until_it_ends() {
    let p = policy(600); // CA lives 1800 s, a new CA from 900 s before its end, leaf renewed 200 s before its end.
    let (s0, _) = written(None, 0, &p);
    let (s0, why) = written(Some(Ok(reparse(&s0))), 800, &p);
    assert_eq!(why, Why::LeafDue, "renewed by the first CA until 1400");
    let s0 = reparse(&s0);
    let (s1, why) = written(Some(Ok(s0.clone())), 900, &p);
    assert_eq!(why, Why::CaDue);
    let s1 = reparse(&s1);
    assert_eq!(s1.bundle.len(), 2, "old and new CA trusted");
    assert!(s1.bundle_pem().contains(&s0.bundle_pem()));
    assert!(
        s1.serving().0 == s0.serving().0,
        "the leaf is not due: kept"
    );
    assert!(kept(&s1, 1199, &p));
    let (s2, why) = written(Some(Ok(s1.clone())), 1200, &p);
    assert_eq!(why, Why::LeafDue);
    let s2 = reparse(&s2);
    let signed_by_new = parse(&BTreeMap::from([
        (CA_CERT.to_owned(), s1.ca.pem.clone().into_bytes()),
        (CA_KEY.to_owned(), s1.ca_key.clone().into_bytes()),
        (CA_BUNDLE.to_owned(), s1.ca.pem.clone().into_bytes()),
        (TLS_CERT.to_owned(), s2.leaf.pem.clone().into_bytes()),
        (TLS_KEY.to_owned(), s2.leaf_key.clone().into_bytes()),
    ]));
    assert!(signed_by_new.is_ok(), "{:?}", signed_by_new.err());
    assert_eq!(s2.bundle.len(), 2);
    let (s3, _) = written(Some(Ok(s2)), 1801, &p);
    let s3 = reparse(&s3);
    assert!(
        !s3.bundle_pem().contains(&s0.bundle_pem()),
        "the expired first CA left the bundle"
    );
    assert!(s3.bundle_pem().contains(&s1.ca.pem), "the second CA stays");
}

#[test]
fn an_expired_ca_starts_over() {
    let p = policy(600);
    let (s0, _) = written(None, 0, &p);
    let (s1, why) = written(Some(Ok(reparse(&s0))), 5000, &p);
    assert_eq!(why, Why::CaExpired);
    assert_eq!(reparse(&s1).bundle.len(), 1);
    assert_ne!(s1.bundle_pem(), s0.bundle_pem());
}

#[test]
fn unusable_data_is_named_without_key_material_and_replaced() {
    let (good, _) = written(None, 0, &policy(600));
    let data = good.to_data();
    let with = |key: &str, value: &[u8]| {
        let mut data = data.clone();
        data.insert(key.to_owned(), value.to_vec());
        parse(&data).expect_err("refused")
    };
    let without = |key: &str| {
        let mut data = data.clone();
        data.remove(key);
        parse(&data).expect_err("refused")
    };
    assert_eq!(without(TLS_KEY), "tls.key is missing");
    assert_eq!(with(TLS_CERT, b"garbage"), "tls.crt holds no PEM block");
    assert_eq!(with(TLS_KEY, b"\xff\xfe"), "tls.key is not PEM text");
    let other = KeyPair::generate().unwrap().serialize_pem();
    assert_eq!(
        with(TLS_KEY, other.as_bytes()),
        "tls.key does not fit its certificate"
    );
    assert_eq!(
        with(CA_CERT, data[TLS_CERT].as_slice()),
        "ca.crt is not a CA certificate"
    );
    let (stranger, _) = written(None, 0, &policy(600));
    let reason = with(CA_BUNDLE, stranger.bundle_pem().as_bytes());
    assert_eq!(reason, "ca-bundle.crt does not hold ca.crt");
    for reason in [reason, without(CA_KEY)] {
        assert!(!reason.contains("PRIVATE KEY"), "{reason}");
    }
    let (next, why) = written(Some(Err("tls.key is missing".into())), 10, &policy(600));
    assert_eq!(why, Why::Corrupt("tls.key is missing".into()));
    assert!(parse(&next.to_data()).is_ok());
    assert!(!why.to_string().contains("BEGIN"), "{why}");
}
