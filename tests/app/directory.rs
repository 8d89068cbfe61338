//! The directory: who is listed, and address suggestions.

use crate::helpers::{Backend, Outgoing, location};
use crate::mail::office;
use crate::on_both_backends;

on_both_backends!(
    the_directory_lists_only_active_listed_people,
    the_directory_finds_the_beginnings_of_words_and_an_organisations_new_name,
);

async fn the_directory_lists_only_active_listed_people(backend: Backend) {
    let o = office(backend).await;
    let mut change = o.app.change().await;
    change
        .set_ex_directory(o.ids[2], true)
        .await
        .expect("unlist");
    change.commit().await.expect("commit");
    let page = o.fiscal.text("/directory?q=example").await;
    assert!(page.contains("ann@brodie.example"));
    assert!(
        !page.contains("bob@kerr.example"),
        "ex-directory people are not listed"
    );
    let suggestions = o
        .fiscal
        .text("/directory/suggest?field=to&to=fiona%40pf.example%2C%20bro")
        .await;
    assert!(suggestions.contains("data-add-address=\"ann@brodie.example\""));
    let ann_leaves = o
        .ann
        .submit("/account", "/account/directory", &[("listed", "no")])
        .await;
    assert_eq!(location(&ann_leaves), "/account");
    assert!(
        !o.fiscal
            .text("/directory?q=example")
            .await
            .contains("ann@brodie.example")
    );
    // Ex-directory people can still be written to.
    o.fiscal
        .send_ok(&Outgoing::to("bob@kerr.example", "Hello", "Direct"))
        .await;
}

async fn the_directory_finds_the_beginnings_of_words_and_an_organisations_new_name(
    backend: Backend,
) {
    let o = office(backend).await;
    let names = |page: &str| {
        ["fiona@pf.example", "ann@brodie.example", "bob@kerr.example"]
            .into_iter()
            .filter(|email| page.contains(email))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&o.fiscal.text("/directory?q=Bro").await),
        ["ann@brodie.example"],
        "a word's beginning, any case"
    );
    assert_eq!(
        names(&o.fiscal.text("/directory?q=kerr+legal").await),
        ["bob@kerr.example"],
        "every word must match"
    );
    assert!(names(&o.fiscal.text("/directory?q=kerr+brodie").await).is_empty());
    assert_eq!(
        names(&o.fiscal.text("/directory?q=ann%40brodie.example").await),
        ["ann@brodie.example"],
        "a whole address"
    );
    assert!(
        names(&o.fiscal.text("/directory?q=rodie").await).is_empty(),
        "the middle of a word is not a match"
    );
    assert_eq!(
        names(&o.fiscal.text("/directory").await).len(),
        3,
        "everyone, by name"
    );

    let organisation = o
        .app
        .number("SELECT organisation_id FROM users WHERE email = 'bob@kerr.example'")
        .await;
    let mut change = o.app.change().await;
    assert!(
        change
            .update_organisation(
                organisation,
                &casemail::domain::OrganisationName::parse("Macleod Solicitors").expect("a name"),
                &casemail::domain::Jurisdiction::parse("Glasgow").expect("an area"),
            )
            .await
            .expect("renamed")
    );
    change.commit().await.expect("commit");
    assert_eq!(
        names(&o.fiscal.text("/directory?q=macleod").await),
        ["bob@kerr.example"],
        "found by the organisation's new name"
    );
    assert!(
        names(&o.fiscal.text("/directory?q=legal").await).is_empty(),
        "and no longer by the old one"
    );
}
