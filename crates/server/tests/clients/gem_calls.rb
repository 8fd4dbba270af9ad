# Calls every method of the `natero` or `freshworks` gem (bonusly), unchanged, against accord serve,
# and checks each call's effect. Run by run.sh:  ruby -I GEM/lib gem_calls.rb Natero|Freshworks
# Only the hosts are changed (the gems hard-code them as constants).
require 'json'

mod_name = ARGV.fetch(0)
require mod_name.downcase
mod = Object.const_get(mod_name)
url = ENV.fetch('ACCORD_URL')
[[mod::Base, url], [mod::Event, url]].each do |klass, host|
  klass.send(:remove_const, :BASE_URI)
  klass.const_set(:BASE_URI, host)
end
mod.configure do |c|
  c.account_api_key = ENV.fetch('ACCORD_KEY')
  c.event_auth_key = ENV.fetch('ACCORD_AUTH')
  c.event_api_key = ENV.fetch('ACCORD_SEND')
end
Account = mod::Account
User = mod::User
Metric = mod::Metric
Event = mod::Event

def body(response)
  response.parsed_response.is_a?(Hash) ? response.parsed_response : (JSON.parse(response.parsed_response.to_s) rescue {})
end

def ok?(response)
  response.code.between?(200, 299) && body(response)['status_is_ok'] == true
end

# One client call: runs the block, which returns true when the call did what it says.
def call(name)
  passed = begin
    yield
  rescue StandardError => e
    puts "  #{name}: #{e.class}: #{e.message[0, 200]}"
    false
  end
  puts "#{passed ? 'PASS' : 'FAIL'} #{name}"
end

def account(id)
  body(Account.retrieve(id))['result'] || {}
end

def users_named(id)
  body(User.retrieve(id))['results'] || []
end

now = (Time.now.to_f * 1000).to_i
acme = Account.new(
  'account_id' => 'A1', 'name' => 'Acme', 'join_date' => 1598907978483, 'source' => 'salesforce', 'tier' => 'gold',
  'custom_value_dimensions' => [{ 'key' => 'seats', 'value' => 10 }],
  'custom_label_dimensions' => [{ 'key' => 'plan', 'value' => 'gold' }],
  'custom_event_dimensions' => [{ 'key' => 'renewed', 'value' => 1614367426004 }],
  'assigned_csms' => [{ 'email' => 'csm@acme.io' }],
  'stage_history' => [{ 'name' => 'onboarding', 'start_date' => 1000000, 'end_date' => 2000000 }],
  'nps_history' => [{ 'nps_score' => 9, 'date' => 10000, 'username' => 'ann' }]
)
beta = Account.new('account_id' => 'A2', 'name' => 'Beta', 'join_date' => 1609804800000)

call('Account.bulk_insert_modify') do
  r = Account.bulk_insert_modify([acme, beta])
  ok?(r) && body(r)['failed_results'] == []
end
call('Account.retrieve_all') do
  r = Account.retrieve_all
  ok?(r) && body(r)['results'].map { |a| a['account_id'] }.sort == %w[A1 A2]
end
call('Account.retrieve') do
  a = account('A1')
  a['name'] == 'Acme' && a['source'] == 'salesforce' && a['custom_value_dimensions'] == [{ 'key' => 'seats', 'value' => 10 }] &&
    a['stage_history'].to_a.size == 1 && a['assigned_csms'] == [{ 'email' => 'csm@acme.io' }]
end
call('Account.modify') do
  r = Account.modify('A1', Account.new('tier' => 'platinum'))
  a = account('A1')
  ok?(r) && a['tier'] == 'platinum' && a['name'] == 'Acme'
end

call('User.bulk_insert_modify') do
  users = [
    User.new('user_id' => 'u1', 'account_id' => 'A1', 'email' => 'ann@acme.io', 'source' => 'intercom'),
    User.new('user_id' => 'u2', 'account_id' => 'A1', 'email' => 'bob@acme.io')
  ]
  r = User.bulk_insert_modify(users)
  ok?(r) && body(r)['failed_results'] == []
end

event = { account_id: 'A1', user_id: 'u1', session_id: 's1', created_at: now - 60_000 }
def stored_one?(response)
  b = body(response)
  ok?(response) && b['stored'].to_i + b['duplicates'].to_i == 1 && b['failed_lines'] == []
end
call('Event.identify_user') do
  r = Event.identify_user(event, { first_name: 'Ann', title: 'CTO' })
  u = users_named('u1')
  stored_one?(r) && u.size == 1 && u[0]['first_name'] == 'Ann' && u[0]['email'] == 'ann@acme.io'
end
call('Event.identify_account') { stored_one?(Event.identify_account(event.merge(created_at: now - 50_000), { plan: 'gold' })) }
call('Event.session_sync') { stored_one?(Event.session_sync(event.merge(created_at: now - 40_000), 60)) }
call('Event.module_end') { stored_one?(Event.module_end(event.merge(created_at: now - 30_000), 'reports', 1200)) }
call('Event.feature') { stored_one?(Event.feature(event.merge(created_at: now - 20_000), 'export', 'reports', 3)) }
call('Event.create') { stored_one?(Event.create(event.merge(created_at: now - 10_000), 'pageViewEnd')) }

call('Account.retrieve_custom_metrics') { ok?(Account.retrieve_custom_metrics('A1')) }
call('Account.retrieve_invoice_statements') { ok?(Account.retrieve_invoice_statements('A1')) }
call('Account.retrieve_subscription_history') { ok?(Account.retrieve_subscription_history('A1')) }
call('Account.retrieve_support_tickets') { ok?(Account.retrieve_support_tickets('A1')) }
call('Account.retrieve_product_users') do
  r = Account.retrieve_product_users('A1')
  ok?(r) && body(r)['results'].map { |u| u['user_id'] }.sort == %w[u1 u2]
end
call('Account.retrieve_contacts') { ok?(Account.retrieve_contacts('A1')) }

call('User.retrieve_all') do
  r = User.retrieve_all
  ok?(r) && body(r)['results'].map { |u| u['user_id'] }.sort == %w[u1 u2]
end
call('User.retrieve') { users_named('u1').map { |u| u['email'] } == ['ann@acme.io'] }
call('User.retrieve with account') do
  r = User.retrieve('u1', 'A1')
  ok?(r) && body(r)['results'].size == 1
end
call('User.modify') do
  r = User.modify('u1', User.new('role' => 'admin'))
  u = users_named('u1')
  ok?(r) && u.size == 1 && u[0]['role'] == 'admin' && u[0]['source'] == 'intercom'
end

call('Metric.bulk_insert_modify') do
  r = Metric.bulk_insert_modify([Metric.new('account_id' => 'A1', 'name' => 'seats_used', 'value' => 7)])
  ok?(r) && body(r)['failed_results'] == []
end
call('Metric.modify') do
  r = Metric.modify('seats_used', Metric.new('name' => 'seats_used', 'description' => 'Seats in use'))
  ok?(r)
end
call('Metric.retrieve') do
  r = Metric.retrieve('seats_used')
  ok?(r) && body(r).dig('result', 'description') == 'Seats in use' && body(r)['results'].to_a.size == 1
end
call('Metric.delete') do
  r = Metric.delete('seats_used')
  ok?(r) && Metric.retrieve('seats_used').code == 404
end

call('Account.delete_stage_history') do
  ok?(Account.delete_stage_history('A1', 'onboarding', 1000000)) && account('A1')['stage_history'] == []
end
call('Account.delete_dimension_values') do
  ok?(Account.delete_dimension_values('A1', 'seats')) && account('A1')['custom_value_dimensions'] == []
end
call('Account.delete_dimension_labels') do
  ok?(Account.delete_dimension_labels('A1', 'plan')) && account('A1')['custom_label_dimensions'] == []
end
call('Account.delete_assigned_csm_reps') do
  ok?(Account.delete_assigned_csm_reps('A1', 'csm@acme.io')) && account('A1')['assigned_csms'] == []
end
call('Account.delete_nps_history') do
  ok?(Account.delete_nps_history('A1', 10000)) && account('A1')['nps_history'] == []
end

call('User.deactivate with account') do
  ok?(User.deactivate('u2', 'A1')) && users_named('u2').empty?
end
call('User.deactivate') do
  ok?(User.deactivate('u1')) && users_named('u1').empty?
end
call('Account.deactivate_account') do
  ok?(Account.deactivate_account('A2')) && account('A2')['is_active'] == false
end
