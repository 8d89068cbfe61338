//! The directory: who is listed, and address suggestions.

use crate::helpers::{Backend, Outgoing, location};
use crate::mail::office;
use crate::on_both_backends;

on_both_backends!(the_directory_lists_only_active_listed_people,);

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
